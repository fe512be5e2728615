package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * Causal attention for any head dim, in f32 arithmetic on bf16 data: one warp per (query row, head), keys in order
 * ({@link WarpRowAttention}). For the small heads the tensor-core kernel does not cover (stories260K's 8, or 96).
 * <p>Parameters and layout as {@link FlashPrefill}: {@code q, k, v, o, count, start, numHeads, numKvHeads, scale}.
 * Launch: grid {@code (ceil(count / ROWS_PER_BLOCK), numHeads)}, block {@link #THREADS}, no shared memory. Rows are
 * handed out last-first, so the longest start first.
 */
public record FlashFallback(int headDim) implements KernelDefinition {
    public static final int THREADS = 128;
    public static final int ROWS_PER_BLOCK = THREADS / 32;

    public FlashFallback {
        if (headDim < 1 || headDim > 1024) {
            throw new IllegalArgumentException("head dim must be 1..1024, got " + headDim);
        }
    }

    /** Blocks along x for {@code count} queries. */
    public static int blocksFor(int count) {
        return (count + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    }

    @Override
    public String entryName() {
        return "flash_fallback_bf16_d" + headDim;
    }

    @Override
    public void define(KernelBuilder k) {
        U64 q = k.pointerParam("q");
        U64 kCache = k.pointerParam("k");
        U64 vCache = k.pointerParam("v");
        U64 o = k.pointerParam("o");
        U32 count = k.u32Param("count");
        U32 start = k.u32Param("start");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        k.maxThreadsPerBlock(THREADS);
        k.describe("causal attention, any head dim (" + headDim + "), one warp per query row and head, f32 math");

        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31).named("lane");
        U32 fromLast = k.mad(k.blockIdx(Axis.X), k.u32(ROWS_PER_BLOCK), k.shr(tid, 5)).named("fromLast");
        U32 head = k.blockIdx(Axis.Y).named("head");
        k.ifThen(k.lt(fromLast, count), () -> {
            U32 row = k.sub(k.sub(count, 1), fromLast).named("row");
            U32 kvHead = k.div(head, k.div(numHeads, numKvHeads)).named("kvHead");
            U32 qRowBytes = k.mul(numHeads, 2L * headDim);
            U32 kvRowBytes = k.mul(numKvHeads, 2L * headDim).named("kvRowBytes");
            U64 qRow = k.add(k.add(q, k.mulWide(row, qRowBytes)), k.mulWide(head, 2L * headDim)).named("qRow");
            U64 oRow = k.add(k.add(o, k.mulWide(row, qRowBytes)), k.mulWide(head, 2L * headDim)).named("oRow");
            WarpRowAttention attention = new WarpRowAttention(k, headDim, lane, qRow, scale);
            U32 keyEnd = k.add(k.add(start, row), 1).named("keyEnd");
            attention.attend(k, k.add(kCache, k.mulWide(kvHead, 2L * headDim)),
                    k.add(vCache, k.mulWide(kvHead, 2L * headDim)), kvRowBytes, k.u32(0), keyEnd);
            F32 inverse = k.div(k.f32(1), attention.sum());
            attention.forEachDimension(k, (dim, value) ->
                    k.store(global(k.add(oRow, k.mulWide(dim, 2))), k.toBf16(k.mul(value, inverse))));
        });
    }
}
