package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * Merges the partial results of {@link FlashDecode}: {@code o = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s}
 * with {@code M = max_s m_s}, written as bf16. One warp per head, lanes over dimensions {@code l, l + 32, ...}.
 * <p>Parameters: {@code partials} (u64, the decode workspace), {@code o} (u64, bf16 [numHeads, d]),
 * {@code numHeads}, {@code splits} (u32). Launch: grid {@code numHeads}, block 32.
 */
public record FlashDecodeCombine(int headDim) implements KernelDefinition {
    public FlashDecodeCombine {
        if (headDim < 1 || headDim > 1024) {
            throw new IllegalArgumentException("head dim must be 1..1024, got " + headDim);
        }
    }

    @Override
    public String entryName() {
        return "flash_decode_combine_d" + headDim;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 partials = k.pointerParam("partials");
        U64 o = k.pointerParam("o");
        U32 numHeads = k.u32Param("numHeads");
        U32 splits = k.u32Param("splits");
        k.maxThreadsPerBlock(32);
        k.describe("merges split-K decode partials, head dim " + headDim);

        U32 lane = k.and(k.threadIdx(), 31).named("lane");
        U32 head = k.blockIdx().named("head");
        U32 firstPartial = k.mul(head, splits).named("firstPartial");
        U64 stats = k.add(k.add(partials, k.mulWide(k.mul(numHeads, splits), 4L * headDim)),
                k.mulWide(firstPartial, 8)).named("stats");
        U64 outputs = k.add(partials, k.mulWide(firstPartial, 4L * headDim)).named("outputs");

        F32 max = k.var("max", k.f32(Float.NEGATIVE_INFINITY));
        k.loop(k.u32(0), splits, 1, s -> k.set(max, k.max(max, k.loadF32(global(k.add(stats, k.mulWide(s, 8)))))));
        int perLane = (headDim + 31) / 32;
        F32 total = k.var("total", k.f32(0));
        F32[] acc = new F32[perLane];
        U32[] dims = new U32[perLane];
        for (int r = 0; r < perLane; r++) {
            acc[r] = k.var("acc", k.f32(0));
            U32 dim = k.add(lane, 32L * r);
            dims[r] = headDim % 32 == 0 ? dim : k.min(dim, k.u32(headDim - 1));
        }
        k.loop(k.u32(0), splits, 1, s -> {
            F32[] ml = k.loadF32x2(global(k.add(stats, k.mulWide(s, 8))));
            F32 weight = k.ex2(k.sub(ml[0], max));
            k.set(total, k.mad(weight, ml[1], total));
            U64 partial = k.add(outputs, k.mulWide(s, 4L * headDim));
            for (int r = 0; r < perLane; r++) {
                k.set(acc[r], k.mad(weight, k.loadF32(global(k.add(partial, k.mulWide(dims[r], 4)))), acc[r]));
            }
        });
        F32 inverse = k.div(k.f32(1), total);
        U64 out = k.add(o, k.mulWide(head, 2L * headDim)).named("out");
        for (int r = 0; r < perLane; r++) {
            int slot = r;
            Runnable store = () -> k.store(global(k.add(out, k.mulWide(dims[slot], 2))),
                    k.toBf16(k.mul(acc[slot], inverse)));
            if (32 * (r + 1) <= headDim) {
                store.run();
            } else {
                k.ifThen(k.lt(k.add(lane, 32L * slot), k.u32(headDim)), store);
            }
        }
    }
}
