package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Unroll;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * Merges the partial results of {@link FlashDecode} and {@link GroupedFlashDecode}:
 * {@code o = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s} with {@code M = max_s m_s}, written as bf16. One block
 * of {@code warps} warps per head. Every thread takes a share of the splits' maxima for {@code M}, reduced by
 * shuffles and, across warps, through shared memory; then warp w weighs splits {@code w, w + warps, ...}, its lanes
 * over dimensions {@code l, l + 32, ...}, and warp 0 adds the warps' sums in a fixed order and writes the output.
 * <p>Why several warps: the split count of a graph-captured decode is fixed by the cache's capacity (about 500
 * per head on 132 SMs), and one warp walking them one after the other waits for a load at each, on every layer of
 * every step; the loops are also unrolled {@link #UNROLL} times so that each warp keeps that many splits' loads
 * in flight.
 * <p>Parameters: {@code partials} (u64, the decode workspace), {@code o} (u64, bf16 [numHeads, d]),
 * {@code numHeads}, {@code splits} (u32). Launch: grid {@code numHeads}, block {@link #threads()}.
 *
 * @param headDim head size, 1 to 1024
 * @param warps   warps per head, 1 to 32 (1: one warp walks every split, the combine as it was first written)
 */
public record FlashDecodeCombine(int headDim, int warps) implements KernelDefinition {
    /** Splits whose loads one warp issues before it uses them. */
    static final int UNROLL = 4;

    public FlashDecodeCombine {
        if (headDim < 1 || headDim > 1024) {
            throw new IllegalArgumentException("head dim must be 1..1024, got " + headDim);
        }
        if (warps < 1 || warps > 32) {
            throw new IllegalArgumentException("a combine takes 1 to 32 warps per head, got " + warps);
        }
        if (warps > mostWarps(headDim)) {
            throw new IllegalArgumentException("a combine of head dim " + headDim + " takes at most "
                    + mostWarps(headDim) + " warps (their sums fill " + MAX_SHARED_BYTES + " bytes of shared memory),"
                    + " not " + warps);
        }
    }

    /**
     * With the warps per head that {@link DecodeTuning} configures, or as many as fit {@link #MAX_SHARED_BYTES}
     * at this head dim (and keep 64 registers a thread) where that is fewer.
     */
    public FlashDecodeCombine(int headDim) {
        this(headDim, Math.min(DecodeTuning.configured().combineWarps(), mostWarps(headDim)));
    }

    /** Shared memory a combine may take: what every target gives a block without opting in. */
    static final int MAX_SHARED_BYTES = 48 * 1024;

    /** The most warps whose sums fit {@link #MAX_SHARED_BYTES}, and at most 8 for head dims above 256. */
    public static int mostWarps(int headDim) {
        int byShared = MAX_SHARED_BYTES / (4 * (1 + 32 * ((headDim + 31) / 32)));
        return Math.min(headDim > 256 ? 8 : 32, byShared);
    }

    public int threads() {
        return 32 * warps;
    }

    @Override
    public String entryName() {
        return "flash_decode_combine_d" + headDim + (warps == 1 ? "" : "_w" + warps);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 partials = k.pointerParam("partials");
        U64 o = k.pointerParam("o");
        U32 numHeads = k.u32Param("numHeads");
        U32 splits = k.u32Param("splits");
        k.maxThreadsPerBlock(threads());
        k.describe("merges split-K decode partials, head dim " + headDim + ", " + warps + " warps per head");

        U32 tid = k.threadIdx().named("tid");
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        U32 head = k.blockIdx().named("head");
        U32 firstPartial = k.mul(head, splits).named("firstPartial");
        U64 stats = k.add(k.add(partials, k.mulWide(k.mul(numHeads, splits), 4L * headDim)),
                k.mulWide(firstPartial, 8)).named("stats");
        U64 outputs = k.add(partials, k.mulWide(firstPartial, 4L * headDim)).named("outputs");

        F32 max = k.var("max", k.f32(Float.NEGATIVE_INFINITY));
        k.loop(tid, splits, k.u32(threads()), Unroll.by(UNROLL),
                s -> k.set(max, k.max(max, k.loadF32(global(k.add(stats, k.mulWide(s, 8)))))));
        for (int mask = 16; mask >= 1; mask /= 2) k.set(max, k.max(max, k.shuffleXor(max, mask)));
        int perLane = (headDim + 31) / 32;
        U32 shared = warps == 1 ? null : k.sharedArray("warpSums", 4 * warps * (1 + 32 * perLane));
        if (warps > 1) {
            k.ifThen(k.eq(lane, 0), () -> k.store(k.element(shared, warp, 4), max));
            k.barrier();
            for (int w = 0; w < warps; w++) k.set(max, k.max(max, k.loadF32(k.element(shared, k.u32(w), 4))));
            k.barrier();
        }

        F32 total = k.var("total", k.f32(0));
        F32[] acc = new F32[perLane];
        U32[] dims = new U32[perLane];
        for (int r = 0; r < perLane; r++) {
            acc[r] = k.var("acc", k.f32(0));
            U32 dim = k.add(lane, 32L * r);
            dims[r] = headDim % 32 == 0 ? dim : k.min(dim, k.u32(headDim - 1));
        }
        k.loop(warp, splits, k.u32(warps), Unroll.by(UNROLL), s -> {
            F32[] ml = k.loadF32x2(global(k.add(stats, k.mulWide(s, 8))));
            U64 partial = k.add(outputs, k.mulWide(s, 4L * headDim));
            F32[] values = new F32[perLane];
            for (int r = 0; r < perLane; r++) values[r] = k.loadF32(global(k.add(partial, k.mulWide(dims[r], 4))));
            F32 weight = k.ex2(k.sub(ml[0], max));
            k.set(total, k.mad(weight, ml[1], total));
            for (int r = 0; r < perLane; r++) k.set(acc[r], k.mad(weight, values[r], acc[r]));
        });
        if (warps > 1) {
            k.comment("each warp's sums to shared memory; warp 0 adds them in warp order");
            U32 sums = k.add(shared, 4 * warps).named("accSums");
            k.ifThen(k.eq(lane, 0), () -> k.store(k.element(shared, warp, 4), total));
            for (int r = 0; r < perLane; r++) {
                k.store(k.element(sums, k.add(k.mul(warp, 32 * perLane), k.add(lane, 32L * r)), 4), acc[r]);
            }
            k.barrier();
            k.ifThen(k.eq(warp, 0), () -> {
                k.set(total, k.loadF32(k.element(shared, k.u32(0), 4)));
                for (int w = 1; w < warps; w++) k.set(total, k.add(total, k.loadF32(k.element(shared, k.u32(w), 4))));
                for (int r = 0; r < perLane; r++) {
                    for (int w = 1; w < warps; w++) {
                        k.set(acc[r], k.add(acc[r], k.loadF32(k.element(sums, k.add(lane, 32L * (w * perLane + r)), 4))));
                    }
                }
                store(k, o, head, lane, dims, acc, total);
            });
        } else {
            store(k, o, head, lane, dims, acc, total);
        }
    }

    /** One warp writes the head's output: its lanes' sums divided by the total weight, as bf16. */
    private void store(KernelBuilder k, U64 o, U32 head, U32 lane, U32[] dims, F32[] acc, F32 total) {
        F32 inverse = k.div(k.f32(1), total);
        U64 out = k.add(o, k.mulWide(head, 2L * headDim)).named("out");
        for (int r = 0; r < acc.length; r++) {
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
