package io.minference.runtime.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * out[T, N] = x[T, K] · w[N, K]^T on F32 memory.
 *
 * <p>Prefill (T > 1): the weight rows are split into items handed to the pool's threads. Inside an item, K is walked
 * in blocks small enough that a block of all T token rows stays in the core's L2 cache; for each group of four
 * tokens (their block, 8 KB, sits in L1) the item's weight rows are streamed two at a time through a 4×2 register
 * tile of FMA accumulators, so each weight vector loaded is used four times and each token vector twice. Eight
 * independent accumulators also cover the FMA latency of two FMA units.
 *
 * <p>Decode (T = 1): a matrix-vector product, memory-bound, four weight rows per pass sharing each load of x.
 */
final class CpuMatmul {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Floats of K per pass; a multiple of every vector length. 128 tokens × 512 floats = 256 KB. */
    private static final int K_BLOCK = 512;
    /** Items per thread, so that a slow thread does not hold up the rest. */
    private static final int ITEMS_PER_THREAD = 4;
    private static final int MAX_ROWS_PER_ITEM = 64;

    private CpuMatmul() {
    }

    static void multiply(CpuBackend backend, MemorySegment x, MemorySegment w, MemorySegment out,
                         int tokens, int n, int k) {
        int rowsPerItem = rowsPerItem(n, backend.threads());
        int items = (n + rowsPerItem - 1) / rowsPerItem;
        backend.parallelFor(items, item -> {
            int n0 = item * rowsPerItem;
            int n1 = Math.min(n, n0 + rowsPerItem);
            if (tokens == 1) {
                rowsOfOneToken(x, w, out, 0, n0, n1, n, k, 0, k, false);
            } else {
                rowsOfManyTokens(x, w, out, tokens, n0, n1, n, k);
            }
        });
    }

    /**
     * A multiple of 4 rows, small enough to give every thread a few items and to keep an item's K block of weights
     * (rows × K_BLOCK floats, 128 KB at most) in L2 while the token groups stream past it.
     */
    private static int rowsPerItem(int n, int threads) {
        int rows = Math.min(MAX_ROWS_PER_ITEM, n / (threads * ITEMS_PER_THREAD));
        return Math.max(4, rows / 4 * 4);
    }

    private static void rowsOfManyTokens(MemorySegment x, MemorySegment w, MemorySegment out, int tokens,
                                         int n0, int n1, int n, int k) {
        for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
            int k1 = Math.min(k, k0 + K_BLOCK);
            boolean accumulate = k0 > 0;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int row = n0;
                for (; row + 2 <= n1; row += 2) tile4x2(x, w, out, t, row, n, k, k0, k1, accumulate);
                for (; row < n1; row++) {
                    for (int tt = t; tt < t + 4; tt++) store(out, tt, row, n, dot(x, w, tt, row, k, k0, k1), accumulate);
                }
            }
            for (; t < tokens; t++) rowsOfOneToken(x, w, out, t, n0, n1, n, k, k0, k1, accumulate);
        }
    }

    private static void rowsOfOneToken(MemorySegment x, MemorySegment w, MemorySegment out, int t, int n0, int n1,
                                       int n, int k, int k0, int k1, boolean accumulate) {
        int row = n0;
        for (; row + 4 <= n1; row += 4) tile1x4(x, w, out, t, row, n, k, k0, k1, accumulate);
        for (; row < n1; row++) store(out, t, row, n, dot(x, w, t, row, k, k0, k1), accumulate);
    }

    private static void tile4x2(MemorySegment x, MemorySegment w, MemorySegment out, int t, int row, int n, int k,
                                int k0, int k1, boolean accumulate) {
        long rowBytes = 4L * k;
        long x0 = t * rowBytes, x1 = x0 + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
        long w0 = row * rowBytes, w1 = w0 + rowBytes;
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
        int kv = k0 + (k1 - k0) / L * L;
        for (int i = k0; i < kv; i += L) {
            long off = 4L * i;
            FloatVector v0 = FloatVector.fromMemorySegment(S, w, w0 + off, ORDER);
            FloatVector v1 = FloatVector.fromMemorySegment(S, w, w1 + off, ORDER);
            FloatVector u = FloatVector.fromMemorySegment(S, x, x0 + off, ORDER);
            a00 = u.fma(v0, a00);
            a01 = u.fma(v1, a01);
            u = FloatVector.fromMemorySegment(S, x, x1 + off, ORDER);
            a10 = u.fma(v0, a10);
            a11 = u.fma(v1, a11);
            u = FloatVector.fromMemorySegment(S, x, x2 + off, ORDER);
            a20 = u.fma(v0, a20);
            a21 = u.fma(v1, a21);
            u = FloatVector.fromMemorySegment(S, x, x3 + off, ORDER);
            a30 = u.fma(v0, a30);
            a31 = u.fma(v1, a31);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s20 = a20.reduceLanes(VectorOperators.ADD), s21 = a21.reduceLanes(VectorOperators.ADD);
        float s30 = a30.reduceLanes(VectorOperators.ADD), s31 = a31.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < k1; i++) {
            long off = 4L * i;
            float v0 = w.get(F32, w0 + off), v1 = w.get(F32, w1 + off);
            float u0 = x.get(F32, x0 + off), u1 = x.get(F32, x1 + off);
            float u2 = x.get(F32, x2 + off), u3 = x.get(F32, x3 + off);
            s00 += u0 * v0;
            s01 += u0 * v1;
            s10 += u1 * v0;
            s11 += u1 * v1;
            s20 += u2 * v0;
            s21 += u2 * v1;
            s30 += u3 * v0;
            s31 += u3 * v1;
        }
        store(out, t, row, n, s00, accumulate);
        store(out, t, row + 1, n, s01, accumulate);
        store(out, t + 1, row, n, s10, accumulate);
        store(out, t + 1, row + 1, n, s11, accumulate);
        store(out, t + 2, row, n, s20, accumulate);
        store(out, t + 2, row + 1, n, s21, accumulate);
        store(out, t + 3, row, n, s30, accumulate);
        store(out, t + 3, row + 1, n, s31, accumulate);
    }

    private static void tile1x4(MemorySegment x, MemorySegment w, MemorySegment out, int t, int row, int n, int k,
                                int k0, int k1, boolean accumulate) {
        long rowBytes = 4L * k;
        long x0 = t * rowBytes;
        long w0 = row * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        FloatVector a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        int kv = k0 + (k1 - k0) / L * L;
        for (int i = k0; i < kv; i += L) {
            long off = 4L * i;
            FloatVector u = FloatVector.fromMemorySegment(S, x, x0 + off, ORDER);
            a0 = u.fma(FloatVector.fromMemorySegment(S, w, w0 + off, ORDER), a0);
            a1 = u.fma(FloatVector.fromMemorySegment(S, w, w1 + off, ORDER), a1);
            a2 = u.fma(FloatVector.fromMemorySegment(S, w, w2 + off, ORDER), a2);
            a3 = u.fma(FloatVector.fromMemorySegment(S, w, w3 + off, ORDER), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < k1; i++) {
            long off = 4L * i;
            float u = x.get(F32, x0 + off);
            s0 += u * w.get(F32, w0 + off);
            s1 += u * w.get(F32, w1 + off);
            s2 += u * w.get(F32, w2 + off);
            s3 += u * w.get(F32, w3 + off);
        }
        store(out, t, row, n, s0, accumulate);
        store(out, t, row + 1, n, s1, accumulate);
        store(out, t, row + 2, n, s2, accumulate);
        store(out, t, row + 3, n, s3, accumulate);
    }

    private static float dot(MemorySegment x, MemorySegment w, int t, int row, int k, int k0, int k1) {
        long x0 = 4L * t * k, w0 = 4L * row * k;
        FloatVector acc = FloatVector.zero(S);
        int kv = k0 + (k1 - k0) / L * L;
        for (int i = k0; i < kv; i += L) {
            long off = 4L * i;
            acc = FloatVector.fromMemorySegment(S, x, x0 + off, ORDER)
                    .fma(FloatVector.fromMemorySegment(S, w, w0 + off, ORDER), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = kv; i < k1; i++) sum += x.get(F32, x0 + 4L * i) * w.get(F32, w0 + 4L * i);
        return sum;
    }

    private static void store(MemorySegment out, int t, int row, int n, float value, boolean accumulate) {
        long at = 4L * ((long) t * n + row);
        out.set(F32, at, accumulate ? out.get(F32, at) + value : value);
    }
}
