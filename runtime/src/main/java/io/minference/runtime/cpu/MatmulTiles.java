package io.minference.runtime.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register tiles of the prefill product, as outer products: per k, two vectors of packed tokens times the broadcast
 * weights of six output rows, into 12 accumulators (with the two token vectors and one broadcast, 15 of AVX2's 16
 * registers). Each token vector loaded feeds six FMAs, each weight loaded sixteen, and twelve independent
 * accumulators hide the FMA latency of two FMA units.
 *
 * <p>Accumulators live in {@code acc}, laid out [row][token] over the item's rows and the padded tokens, so that a
 * tile resumes where the previous K block left it with plain vector loads.
 */
final class MatmulTiles {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    static final int ROWS = 6;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private MatmulTiles() {
    }

    /**
     * acc[r, panel] (+)= Σ_{k0 ≤ k < k1} w[row0 + r, k] · tokens[panel, k] for six rows r.
     *
     * @param wRow0   byte offset of weight row {@code row0} in {@code w}
     * @param wStride bytes between weight rows
     * @param packed  the packed tokens, panel {@code panel} starting at {@code panelBase}
     * @param acc     accumulators; row r of the tile at {@code accBase + r · accStride}
     * @param first   true for the first K block: start from zero rather than from {@code acc}
     */
    static void sixRows(MemorySegment w, long wRow0, long wStride, float[] packed, int panelBase, int k0, int k1,
                        float[] acc, int accBase, int accStride, boolean first) {
        final int width = 2 * LANES;
        int a0 = accBase, a1 = a0 + accStride, a2 = a1 + accStride, a3 = a2 + accStride, a4 = a3 + accStride,
                a5 = a4 + accStride;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first) {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        } else {
            c00 = FloatVector.fromArray(S, acc, a0);
            c01 = FloatVector.fromArray(S, acc, a0 + LANES);
            c10 = FloatVector.fromArray(S, acc, a1);
            c11 = FloatVector.fromArray(S, acc, a1 + LANES);
            c20 = FloatVector.fromArray(S, acc, a2);
            c21 = FloatVector.fromArray(S, acc, a2 + LANES);
            c30 = FloatVector.fromArray(S, acc, a3);
            c31 = FloatVector.fromArray(S, acc, a3 + LANES);
            c40 = FloatVector.fromArray(S, acc, a4);
            c41 = FloatVector.fromArray(S, acc, a4 + LANES);
            c50 = FloatVector.fromArray(S, acc, a5);
            c51 = FloatVector.fromArray(S, acc, a5 + LANES);
        }
        long w0 = wRow0, w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride, w4 = w3 + wStride,
                w5 = w4 + wStride;
        int p = panelBase + k0 * width;
        for (int k = k0; k < k1; k++, p += width) {
            FloatVector x0 = FloatVector.fromArray(S, packed, p);
            FloatVector x1 = FloatVector.fromArray(S, packed, p + LANES);
            long off = 4L * k;
            FloatVector b = FloatVector.broadcast(S, w.get(F32, w0 + off));
            c00 = b.fma(x0, c00);
            c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(S, w.get(F32, w1 + off));
            c10 = b.fma(x0, c10);
            c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(S, w.get(F32, w2 + off));
            c20 = b.fma(x0, c20);
            c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(S, w.get(F32, w3 + off));
            c30 = b.fma(x0, c30);
            c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(S, w.get(F32, w4 + off));
            c40 = b.fma(x0, c40);
            c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(S, w.get(F32, w5 + off));
            c50 = b.fma(x0, c50);
            c51 = b.fma(x1, c51);
        }
        c00.intoArray(acc, a0);
        c01.intoArray(acc, a0 + LANES);
        c10.intoArray(acc, a1);
        c11.intoArray(acc, a1 + LANES);
        c20.intoArray(acc, a2);
        c21.intoArray(acc, a2 + LANES);
        c30.intoArray(acc, a3);
        c31.intoArray(acc, a3 + LANES);
        c40.intoArray(acc, a4);
        c41.intoArray(acc, a4 + LANES);
        c50.intoArray(acc, a5);
        c51.intoArray(acc, a5 + LANES);
    }

    /** The same for one row, for the rows left over when an item's rows are not a multiple of six. */
    static void oneRow(MemorySegment w, long wRow0, float[] packed, int panelBase, int k0, int k1,
                       float[] acc, int accBase, boolean first) {
        final int width = 2 * LANES;
        FloatVector c0 = first ? FloatVector.zero(S) : FloatVector.fromArray(S, acc, accBase);
        FloatVector c1 = first ? FloatVector.zero(S) : FloatVector.fromArray(S, acc, accBase + LANES);
        int p = panelBase + k0 * width;
        for (int k = k0; k < k1; k++, p += width) {
            FloatVector b = FloatVector.broadcast(S, w.get(F32, wRow0 + 4L * k));
            c0 = b.fma(FloatVector.fromArray(S, packed, p), c0);
            c1 = b.fma(FloatVector.fromArray(S, packed, p + LANES), c1);
        }
        c0.intoArray(acc, accBase);
        c1.intoArray(acc, accBase + LANES);
    }
}
