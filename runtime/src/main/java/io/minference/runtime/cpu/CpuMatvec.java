package io.minference.runtime.cpu;

import io.minference.runtime.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * out[N] = w[N, K] · x[K], the decode step's product: bound by reading the weights once, so the work is simply four
 * weight rows per pass sharing each load of x, and rows split evenly between the threads.
 *
 * <p>Products too small for the pool use plain scalar loops instead of the Vector API: a tiny model's decode is over
 * before C2 compiles the vector code, and until then each vector operation runs as a slow Java fallback, while scalar
 * loops are quick from the first tier of compilation on.
 */
final class CpuMatvec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int ITEMS_PER_THREAD = 4;
    /** Rows decoded at a time: even, so that the scalar loops pair rows as they do on F32 weights. */
    private static final int DECODED_ROWS = 4;
    private static final ThreadLocal<MemorySegment> DECODED = new ThreadLocal<>();
    private static final ThreadLocal<MemorySegment> QUANTIZED_X = new ThreadLocal<>();
    /**
     * Whether Q8_0 and Q4_0 decode products quantize x and multiply in integers ({@link IntegerMatvec}) rather than
     * widen the weights to floats ({@link FusedMatvec}). Off by default: on AVX-512 with JDK 25 the integer loop
     * costs more per block than the float one (BENCHMARKS.md, "Decode on quantized weights").
     */
    private static final boolean INTEGER_DOT = Boolean.getBoolean("minference.cpu.integerDot");

    private CpuMatvec() {
    }

    static void multiply(CpuBackend backend, boolean parallel, MemorySegment x, MemorySegment w, long wStride,
                         MemorySegment out, int n, int k) {
        int rowsPerItem = Math.max(4, n / (backend.threads() * ITEMS_PER_THREAD) / 4 * 4);
        int items = (n + rowsPerItem - 1) / rowsPerItem;
        if (!parallel && (long) n * k < CpuMatmul.SINGLE_THREAD_WORK) {
            scalarRows(x, w, 4 * wStride, out, n, k);
            return;
        }
        CpuMatmul.forEach(backend, parallel, items, item -> {
            int n0 = item * rowsPerItem;
            rows(x, w, 4 * wStride, out, n0, Math.min(n, n0 + rowsPerItem), k);
        });
    }

    /**
     * The same product with weights in a block type, rows {@code wRowBytes} apart. Q8_0 on a CPU with AMX tiles runs
     * {@link AmxMatvec}'s int8 kernel (groups of 16 rows split between the threads). Q8_0, Q4_0, Q4_K and Q6_K
     * dequantize inside the dot product ({@link FusedMatvec}); other types, and products small enough for the scalar
     * loops, decode {@link #DECODED_ROWS} rows at a time into a per-thread scratch (in L2 for any model's width) and
     * run the F32 loops on it, so every row's sum is the F32 product's of the decoded row, in the same order.
     */
    static void multiplyBlocks(CpuBackend backend, boolean parallel, MemorySegment x, DType type, MemorySegment w,
                               long wRowBytes, MemorySegment out, int n, int k) {
        multiplyBlocks(backend, parallel, x, type, w, wRowBytes, out, n, k, INTEGER_DOT);
    }

    /** As above, with the choice of {@link IntegerMatvec} for Q8_0 and Q4_0 made by the caller. */
    static void multiplyBlocks(CpuBackend backend, boolean parallel, MemorySegment x, DType type, MemorySegment w,
                               long wRowBytes, MemorySegment out, int n, int k, boolean integerDot) {
        boolean scalar = !parallel && (long) n * k < CpuMatmul.SINGLE_THREAD_WORK;
        int rowsPerItem = Math.max(4, n / (backend.threads() * ITEMS_PER_THREAD) / 4 * 4);
        int items = (n + rowsPerItem - 1) / rowsPerItem;
        boolean amx = !scalar && AmxMatvec.handles(backend, type, w, n, k);
        if (amx || !scalar && integerDot && IntegerMatvec.handles(type)) {
            MemorySegment q = CpuMatmul.nativeScratch(QUANTIZED_X, IntegerMatvec.quantizedBytes(k));
            IntegerMatvec.quantize(x, k, q);
            if (amx) {
                int groupsPerItem = Math.max(1, n / AmxMatvec.ROWS / (backend.threads() * ITEMS_PER_THREAD));
                int groupItems = (n / AmxMatvec.ROWS + groupsPerItem - 1) / groupsPerItem;
                CpuMatmul.forEach(backend, parallel, groupItems, item -> AmxMatvec.rows(q, w, wRowBytes, out,
                        item * groupsPerItem * AmxMatvec.ROWS,
                        Math.min(n, (item + 1) * groupsPerItem * AmxMatvec.ROWS), k));
            } else {
                CpuMatmul.forEach(backend, parallel, items, item -> IntegerMatvec.rows(type, q, w, wRowBytes, out,
                        item * rowsPerItem, Math.min(n, (item + 1) * rowsPerItem), k));
            }
            return;
        }
        if (!scalar && FusedMatvec.handles(type)) {
            CpuMatmul.forEach(backend, parallel, items, item -> FusedMatvec.rows(type, x, w, wRowBytes, out,
                    item * rowsPerItem, Math.min(n, (item + 1) * rowsPerItem), k));
            return;
        }
        CpuMatmul.forEach(backend, parallel, items, item -> {
            int n1 = Math.min(n, (item + 1) * rowsPerItem);
            MemorySegment decoded = CpuMatmul.nativeScratch(DECODED, 4L * DECODED_ROWS * k);
            for (int row = item * rowsPerItem; row < n1; row += DECODED_ROWS) {
                int count = Math.min(DECODED_ROWS, n1 - row);
                BlockRows.decode(type, w, row * wRowBytes, wRowBytes, count, 0, k, decoded, k);
                MemorySegment rowsOut = out.asSlice(4L * row);
                if (scalar) {
                    scalarRows(x, decoded, 4L * k, rowsOut, count, k);
                } else {
                    rows(x, decoded, 4L * k, rowsOut, 0, count, k);
                }
            }
        });
    }

    static void scalarRows(MemorySegment x, MemorySegment w, long wStride, MemorySegment out, int n, int k) {
        int row = 0;
        for (; row + 2 <= n; row += 2) {
            long w0 = row * wStride, w1 = w0 + wStride;
            float s0 = 0, s1 = 0, t0 = 0, t1 = 0;
            int i = 0;
            // two partial sums per row: shorter dependency chains, and the same order whatever the tier
            for (; i + 2 <= k; i += 2) {
                long off = 4L * i;
                float u = x.get(F32, off), v = x.get(F32, off + 4);
                s0 += u * w.get(F32, w0 + off);
                t0 += v * w.get(F32, w0 + off + 4);
                s1 += u * w.get(F32, w1 + off);
                t1 += v * w.get(F32, w1 + off + 4);
            }
            if (i < k) {
                float u = x.get(F32, 4L * i);
                s0 += u * w.get(F32, w0 + 4L * i);
                s1 += u * w.get(F32, w1 + 4L * i);
            }
            out.set(F32, 4L * row, s0 + t0);
            out.set(F32, 4L * row + 4, s1 + t1);
        }
        if (row < n) {
            long w0 = row * wStride;
            float s0 = 0;
            for (int i = 0; i < k; i++) s0 += x.get(F32, 4L * i) * w.get(F32, w0 + 4L * i);
            out.set(F32, 4L * row, s0);
        }
    }

    private static void rows(MemorySegment x, MemorySegment w, long wStride, MemorySegment out, int n0, int n1,
                             int k) {
        int row = n0;
        for (; row + 4 <= n1; row += 4) fourRows(x, w, row * wStride, wStride, out, row, k);
        for (; row < n1; row++) out.set(F32, 4L * row, dot(x, w, row * wStride, k));
    }

    private static void fourRows(MemorySegment x, MemorySegment w, long w0, long wStride, MemorySegment out, int row,
                                 int k) {
        long w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        int kv = k / L * L;
        for (int i = 0; i < kv; i += L) {
            long off = 4L * i;
            FloatVector u = FloatVector.fromMemorySegment(S, x, off, ORDER);
            a0 = u.fma(FloatVector.fromMemorySegment(S, w, w0 + off, ORDER), a0);
            a1 = u.fma(FloatVector.fromMemorySegment(S, w, w1 + off, ORDER), a1);
            a2 = u.fma(FloatVector.fromMemorySegment(S, w, w2 + off, ORDER), a2);
            a3 = u.fma(FloatVector.fromMemorySegment(S, w, w3 + off, ORDER), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < k; i++) {
            long off = 4L * i;
            float u = x.get(F32, off);
            s0 += u * w.get(F32, w0 + off);
            s1 += u * w.get(F32, w1 + off);
            s2 += u * w.get(F32, w2 + off);
            s3 += u * w.get(F32, w3 + off);
        }
        long o = 4L * row;
        out.set(F32, o, s0);
        out.set(F32, o + 4, s1);
        out.set(F32, o + 8, s2);
        out.set(F32, o + 12, s3);
    }

    private static float dot(MemorySegment x, MemorySegment w, long w0, int k) {
        FloatVector acc = FloatVector.zero(S);
        int kv = k / L * L;
        for (int i = 0; i < kv; i += L) {
            long off = 4L * i;
            acc = FloatVector.fromMemorySegment(S, x, off, ORDER).fma(FloatVector.fromMemorySegment(S, w, w0 + off, ORDER), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < k; i++) sum += x.get(F32, 4L * i) * w.get(F32, w0 + 4L * i);
        return sum;
    }
}
