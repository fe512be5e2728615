package io.minference.sparse.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Scores of up to 64 queries against one panel of 64 keys: {@code s[r][lane] = Σ_x q[r][x] · panel[x][lane]},
 * as outer products in registers: six query rows times two key vectors, twelve accumulators (what AVX2's sixteen
 * registers hold beside the two panel vectors and a broadcast). Every key's dot product sums x in ascending order,
 * so equal keys get bit-identical scores, which the selection's tie rule relies on.
 */
public final class ScoreTile {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = S.length();
    private static final int W = KeyPanels.WIDTH;

    static {
        if (W % (2 * LANES) != 0) throw new IllegalStateException("vector of " + LANES + " floats does not tile 64 keys");
    }

    private ScoreTile() {
    }

    /**
     * @param q      queries, row r at {@code r · d} (already scaled by 1/√d)
     * @param rows   query rows, at most 64
     * @param panel  keys as {@code [d][64]} from {@code panelOffset}
     * @param scores out, row r at {@code r · 64}
     */
    public static void multiply(float[] q, int rows, int d, float[] panel, int panelOffset, float[] scores) {
        for (int k0 = 0; k0 < W; k0 += 2 * LANES) {
            int r = 0;
            for (; r + 6 <= rows; r += 6) sixRows(q, r, d, panel, panelOffset + k0, scores, k0);
            for (; r < rows; r++) oneRow(q, r, d, panel, panelOffset + k0, scores, k0);
        }
    }

    private static void sixRows(float[] q, int r0, int d, float[] p, int p0, float[] s, int k0) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(S);
        int q0 = r0 * d, q1 = q0 + d, q2 = q1 + d, q3 = q2 + d, q4 = q3 + d, q5 = q4 + d;
        for (int x = 0, at = p0; x < d; x++, at += W) {
            FloatVector k0v = FloatVector.fromArray(S, p, at);
            FloatVector k1v = FloatVector.fromArray(S, p, at + LANES);
            FloatVector b = FloatVector.broadcast(S, q[q0 + x]);
            c00 = b.fma(k0v, c00);
            c01 = b.fma(k1v, c01);
            b = FloatVector.broadcast(S, q[q1 + x]);
            c10 = b.fma(k0v, c10);
            c11 = b.fma(k1v, c11);
            b = FloatVector.broadcast(S, q[q2 + x]);
            c20 = b.fma(k0v, c20);
            c21 = b.fma(k1v, c21);
            b = FloatVector.broadcast(S, q[q3 + x]);
            c30 = b.fma(k0v, c30);
            c31 = b.fma(k1v, c31);
            b = FloatVector.broadcast(S, q[q4 + x]);
            c40 = b.fma(k0v, c40);
            c41 = b.fma(k1v, c41);
            b = FloatVector.broadcast(S, q[q5 + x]);
            c50 = b.fma(k0v, c50);
            c51 = b.fma(k1v, c51);
        }
        int o = r0 * W + k0;
        c00.intoArray(s, o);
        c01.intoArray(s, o + LANES);
        c10.intoArray(s, o + W);
        c11.intoArray(s, o + W + LANES);
        c20.intoArray(s, o + 2 * W);
        c21.intoArray(s, o + 2 * W + LANES);
        c30.intoArray(s, o + 3 * W);
        c31.intoArray(s, o + 3 * W + LANES);
        c40.intoArray(s, o + 4 * W);
        c41.intoArray(s, o + 4 * W + LANES);
        c50.intoArray(s, o + 5 * W);
        c51.intoArray(s, o + 5 * W + LANES);
    }

    private static void oneRow(float[] q, int r, int d, float[] p, int p0, float[] s, int k0) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        int q0 = r * d;
        for (int x = 0, at = p0; x < d; x++, at += W) {
            FloatVector b = FloatVector.broadcast(S, q[q0 + x]);
            c0 = b.fma(FloatVector.fromArray(S, p, at), c0);
            c1 = b.fma(FloatVector.fromArray(S, p, at + LANES), c1);
        }
        c0.intoArray(s, r * W + k0);
        c1.intoArray(s, r * W + k0 + LANES);
    }
}
