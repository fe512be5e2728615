package io.minference.runtime.cpu;

import io.minference.runtime.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;

/**
 * out[T, N] = x[T, K] · w[N, K]^T on F32 memory.
 *
 * <p>Prefill (T &gt; 1): the token rows are packed once into panels ({@link PackedTokens}); the weight rows are
 * split into items handed to the pool's threads. An item walks K in blocks of {@link #K_BLOCK}: its block of weights
 * (at most 96 rows × 256 floats, 96 KB) stays in L2 while every token panel's block (16 tokens × 256, 16 KB) passes
 * through L1 under the 6-row register tiles of {@link MatmulTiles}. Accumulators persist across K blocks in a
 * per-thread [row][token] buffer, transposed into {@code out} once at the end.
 *
 * <p>Weights in a block type (quantized, F16, BF16) stay in their blocks: each item decodes its rows' K block into
 * a per-thread native scratch ({@link BlockRows}) that then stands in for the weights, once per K block for all the
 * token panels.
 *
 * <p>Q8_0, Q4_0, Q5_0 and K-quant weights on a CPU with AMX tiles take {@link AmxMatmul}'s int8 product instead.
 *
 * <p>Decode (T = 1) is a matrix-vector product, {@link CpuMatvec}. Products too small to repay waking the pool run
 * on the calling thread.
 */
final class CpuMatmul {
    static final int K_BLOCK = 256;
    /** Multiply-adds below which one thread does the whole product: about what a hand-off to the pool costs. */
    static final long SINGLE_THREAD_WORK = 1 << 16;
    private static final int ITEMS_PER_THREAD = 4;
    private static final int MAX_ROWS_PER_ITEM = 16 * MatmulTiles.ROWS;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<MemorySegment> DECODED = new ThreadLocal<>();
    private static final ThreadLocal<float[]> ACCUMULATORS = ThreadLocal.withInitial(() -> new float[0]);

    private CpuMatmul() {
    }

    /** Strides are in floats: row t of x starts at float t·xStride, and so on. */
    static void multiply(CpuBackend backend, MemorySegment x, long xStride, MemorySegment w, long wStride,
                         MemorySegment out, long outStride, int tokens, int n, int k) {
        boolean parallel = (long) tokens * n * k >= SINGLE_THREAD_WORK && backend.threads() > 1;
        if (tokens == 1) {
            CpuMatvec.multiply(backend, parallel, x, w, wStride, out, n, k);
            return;
        }
        forEachItem(backend, parallel, x, xStride, tokens, n, k, (packed, n0, n1, rowsPerItem) ->
                rowBlock(k0 -> w, 4 * wStride, false, packed, out, outStride, tokens, k, n0, n1, rowsPerItem));
    }

    /**
     * The same product with weights in a block type ({@link BlockRows}), rows {@code wRowBytes} apart. Each item
     * decodes its rows' K block into a per-thread scratch just before the register tiles read it, so the tiles and
     * the order of every sum are those of the F32 product of the decoded weights.
     */
    static void multiplyBlocks(CpuBackend backend, MemorySegment x, long xStride, DType type, MemorySegment w,
                               long wRowBytes, MemorySegment out, long outStride, int tokens, int n, int k) {
        boolean parallel = (long) tokens * n * k >= SINGLE_THREAD_WORK && backend.threads() > 1;
        if (tokens == 1) {
            CpuMatvec.multiplyBlocks(backend, parallel, x, type, w, wRowBytes, out, n, k);
            return;
        }
        if (AmxMatmul.handles(backend, type, w, tokens, n, k)) {
            AmxMatmul.multiply(backend, parallel, x, xStride, type, w, wRowBytes, out, outStride, tokens, n, k);
            return;
        }
        forEachItem(backend, parallel, x, xStride, tokens, n, k, (packed, n0, n1, rowsPerItem) -> {
            MemorySegment decoded = nativeScratch(DECODED, 4L * rowsPerItem * K_BLOCK);
            RowSource rows = k0 -> {
                BlockRows.decode(type, w, n0 * wRowBytes, wRowBytes, n1 - n0, k0, Math.min(k, k0 + K_BLOCK), decoded,
                        K_BLOCK);
                return decoded;
            };
            rowBlock(rows, 4L * K_BLOCK, true, packed, out, outStride, tokens, k, n0, n1, rowsPerItem);
        });
    }

    /** One item of a prefill product: weight rows [n0, n1) against every packed token. */
    private interface Item {
        void run(float[] packed, int n0, int n1, int rowsPerItem);
    }

    /** Where an item's weight rows are read for one K block: the weights themselves, or the block decoded. */
    private interface RowSource {
        MemorySegment block(int k0);
    }

    /** Packs the tokens into panels, then hands the weight rows out in items. */
    private static void forEachItem(CpuBackend backend, boolean parallel, MemorySegment x, long xStride, int tokens,
                                    int n, int k, Item item) {
        int panels = PackedTokens.panels(tokens);
        float[] packed = PackedTokens.buffer(tokens, k);
        forEach(backend, parallel && panels > 1, panels, p -> PackedTokens.pack(x, xStride, tokens, k, p, packed));
        int rowsPerItem = rowsPerItem(n, backend.threads());
        int items = (n + rowsPerItem - 1) / rowsPerItem;
        forEach(backend, parallel, items, i -> {
            int n0 = i * rowsPerItem;
            item.run(packed, n0, Math.min(n, n0 + rowsPerItem), rowsPerItem);
        });
    }

    static void forEach(CpuBackend backend, boolean parallel, int count, IntConsumer body) {
        if (parallel) {
            backend.parallelFor(count, body);
        } else {
            for (int i = 0; i < count; i++) body.accept(i);
        }
    }

    /** A multiple of six rows giving every thread a few items, at most {@link #MAX_ROWS_PER_ITEM}. */
    static int rowsPerItem(int n, int threads) {
        int rows = Math.min(MAX_ROWS_PER_ITEM, n / (threads * ITEMS_PER_THREAD));
        return Math.max(MatmulTiles.ROWS, rows / MatmulTiles.ROWS * MatmulTiles.ROWS);
    }

    /**
     * @param decoded whether {@code rows} gives a decoded block, row 0 of the item and column k0 at its start, rather
     *                than the whole weight matrix
     */
    private static void rowBlock(RowSource rows, long wStride, boolean decoded, float[] packed, MemorySegment out,
                                 long outStride, int tokens, int k, int n0, int n1, int rowsPerItem) {
        int rowCount = n1 - n0;
        int panels = PackedTokens.panels(tokens);
        int stride = panels * PackedTokens.WIDTH;
        float[] acc = scratch(ACCUMULATORS, rowsPerItem * stride);
        for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
            int k1 = Math.min(k, k0 + K_BLOCK);
            boolean first = k0 == 0;
            MemorySegment w = rows.block(k0);
            long wRow0 = decoded ? -4L * k0 : n0 * wStride;
            for (int p = 0; p < panels; p++) {
                int panelBase = p * PackedTokens.WIDTH * k;
                int column = p * PackedTokens.WIDTH;
                int r = 0;
                for (; r + MatmulTiles.ROWS <= rowCount; r += MatmulTiles.ROWS) {
                    MatmulTiles.sixRows(w, wRow0 + r * wStride, wStride, packed, panelBase, k0, k1,
                            acc, r * stride + column, stride, first);
                }
                for (; r < rowCount; r++) {
                    MatmulTiles.oneRow(w, wRow0 + r * wStride, packed, panelBase, k0, k1, acc, r * stride + column,
                            first);
                }
            }
        }
        for (int t = 0; t < tokens; t++) {
            long outRow = 4L * (t * outStride + n0);
            for (int r = 0; r < rowCount; r++) out.set(F32, outRow + 4L * r, acc[r * stride + t]);
        }
    }

    /**
     * The calling thread's native buffer of {@code which}, grown to at least {@code bytes}. Native rather than an
     * array because the register tiles read weights through MemorySegment accesses compiled for the native segments
     * of real weights; a heap segment there would make those accesses polymorphic and slow.
     */
    static MemorySegment nativeScratch(ThreadLocal<MemorySegment> which, long bytes) {
        MemorySegment m = which.get();
        if (m == null || m.byteSize() < bytes) {
            m = Arena.ofAuto().allocate(bytes, 64);
            which.set(m);
        }
        return m;
    }

    /** The calling thread's buffer of {@code which}, grown to at least {@code size} ints. */
    static int[] intScratch(ThreadLocal<int[]> which, int size) {
        int[] a = which.get();
        if (a.length < size) {
            a = new int[size];
            which.set(a);
        }
        return a;
    }

    /** The calling thread's buffer of {@code which}, grown to at least {@code size} floats. */
    static float[] scratch(ThreadLocal<float[]> which, int size) {
        float[] a = which.get();
        if (a.length < size) {
            a = new float[size];
            which.set(a);
        }
        return a;
    }
}
