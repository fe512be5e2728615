package io.minference.sparse.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Accumulates probabilities times values: {@code o[r][x] += Σ_{lane < keys} p[r][lane] · v[lane][x]} for up to 64
 * query rows, with the same six-rows-by-two-vectors register tile as {@link ScoreTile} (here the vectors run along
 * the head dimension); head sizes that are not a multiple of two vectors finish in scalar code.
 */
public final class ValueTile {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = S.length();
    private static final int W = KeyPanels.WIDTH;

    private ValueTile() {
    }

    /**
     * @param p    probabilities, row r at {@code r · 64}
     * @param v    value rows of the tile's keys, row {@code lane} at {@code lane · d}
     * @param keys lanes in use
     * @param o    accumulators, row r at {@code r · d}
     */
    public static void accumulate(float[] p, int rows, float[] v, int keys, int d, float[] o) {
        int x0 = 0;
        for (; x0 + 2 * LANES <= d; x0 += 2 * LANES) {
            int r = 0;
            for (; r + 6 <= rows; r += 6) sixRows(p, r, v, keys, d, o, x0);
            for (; r < rows; r++) oneRow(p, r, v, keys, d, o, x0);
        }
        for (int r = 0; r < rows; r++) {
            for (int x = x0; x < d; x++) {
                float sum = o[r * d + x];
                for (int lane = 0; lane < keys; lane++) sum += p[r * W + lane] * v[lane * d + x];
                o[r * d + x] = sum;
            }
        }
    }

    private static void sixRows(float[] p, int r0, float[] v, int keys, int d, float[] o, int x0) {
        int o0 = r0 * d + x0, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d, o4 = o3 + d, o5 = o4 + d;
        FloatVector c00 = FloatVector.fromArray(S, o, o0), c01 = FloatVector.fromArray(S, o, o0 + LANES);
        FloatVector c10 = FloatVector.fromArray(S, o, o1), c11 = FloatVector.fromArray(S, o, o1 + LANES);
        FloatVector c20 = FloatVector.fromArray(S, o, o2), c21 = FloatVector.fromArray(S, o, o2 + LANES);
        FloatVector c30 = FloatVector.fromArray(S, o, o3), c31 = FloatVector.fromArray(S, o, o3 + LANES);
        FloatVector c40 = FloatVector.fromArray(S, o, o4), c41 = FloatVector.fromArray(S, o, o4 + LANES);
        FloatVector c50 = FloatVector.fromArray(S, o, o5), c51 = FloatVector.fromArray(S, o, o5 + LANES);
        int p0 = r0 * W, p1 = p0 + W, p2 = p1 + W, p3 = p2 + W, p4 = p3 + W, p5 = p4 + W;
        for (int lane = 0, at = x0; lane < keys; lane++, at += d) {
            FloatVector v0 = FloatVector.fromArray(S, v, at);
            FloatVector v1 = FloatVector.fromArray(S, v, at + LANES);
            FloatVector b = FloatVector.broadcast(S, p[p0 + lane]);
            c00 = b.fma(v0, c00);
            c01 = b.fma(v1, c01);
            b = FloatVector.broadcast(S, p[p1 + lane]);
            c10 = b.fma(v0, c10);
            c11 = b.fma(v1, c11);
            b = FloatVector.broadcast(S, p[p2 + lane]);
            c20 = b.fma(v0, c20);
            c21 = b.fma(v1, c21);
            b = FloatVector.broadcast(S, p[p3 + lane]);
            c30 = b.fma(v0, c30);
            c31 = b.fma(v1, c31);
            b = FloatVector.broadcast(S, p[p4 + lane]);
            c40 = b.fma(v0, c40);
            c41 = b.fma(v1, c41);
            b = FloatVector.broadcast(S, p[p5 + lane]);
            c50 = b.fma(v0, c50);
            c51 = b.fma(v1, c51);
        }
        c00.intoArray(o, o0);
        c01.intoArray(o, o0 + LANES);
        c10.intoArray(o, o1);
        c11.intoArray(o, o1 + LANES);
        c20.intoArray(o, o2);
        c21.intoArray(o, o2 + LANES);
        c30.intoArray(o, o3);
        c31.intoArray(o, o3 + LANES);
        c40.intoArray(o, o4);
        c41.intoArray(o, o4 + LANES);
        c50.intoArray(o, o5);
        c51.intoArray(o, o5 + LANES);
    }

    private static void oneRow(float[] p, int r, float[] v, int keys, int d, float[] o, int x0) {
        int o0 = r * d + x0;
        FloatVector c0 = FloatVector.fromArray(S, o, o0), c1 = FloatVector.fromArray(S, o, o0 + LANES);
        for (int lane = 0, at = x0; lane < keys; lane++, at += d) {
            FloatVector b = FloatVector.broadcast(S, p[r * W + lane]);
            c0 = b.fma(FloatVector.fromArray(S, v, at), c0);
            c1 = b.fma(FloatVector.fromArray(S, v, at + LANES), c1);
        }
        c0.intoArray(o, o0);
        c1.intoArray(o, o0 + LANES);
    }
}
