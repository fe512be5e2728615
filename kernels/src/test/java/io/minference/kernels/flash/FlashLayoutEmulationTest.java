package io.minference.kernels.flash;

import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.tile.OnlineSoftmax;
import io.minference.ptx.tile.RowTileLoad;
import io.minference.ptx.tile.SwizzledFragments;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Plain-Java emulation of one warp's step of {@link FlashPrefill}, from the PTX ISA's definitions of ldmatrix
 * (plain and .trans) and of the m16n8k16 fragment layouts ({@link FragmentA}, {@link FragmentB}, {@link FragmentC}):
 * the swizzled stores of {@link RowTileLoad}, the lane offsets of {@link SwizzledFragments}, S = Q K^T, the C-to-A
 * repacking of P in {@link OnlineSoftmax}, O = P V and the diagonal mask's limit arithmetic. The lane formulas are
 * restated here as the kernel code computes them; a wrong lane mapping makes the products disagree.
 */
class FlashLayoutEmulationTest {
    private static final int BLOCK_N = 64;
    private static final int THREADS = 256;
    private static final int WARP_ROW = 16;

    /** Shared memory in 2-byte cells, filled as RowTileLoad's per-thread plan stores a [rows][d] matrix. */
    private static double[] storeLikeRowTileLoad(double[][] matrix, int d) {
        int rowBytes = 2 * d;
        int chunksPerRow = rowBytes / 16;
        int rowsPerPass = THREADS / chunksPerRow;
        double[] smem = new double[matrix.length * rowBytes / 2];
        for (int thread = 0; thread < THREADS; thread++) {
            int threadRow = thread / chunksPerRow;
            int chunk = thread % chunksPerRow;
            int destination = threadRow * rowBytes + ((chunk ^ (threadRow & 7)) << 4);
            for (int pass = 0; pass < matrix.length / rowsPerPass; pass++) {
                int row = threadRow + pass * rowsPerPass;
                for (int e = 0; e < 8; e++) {
                    smem[(destination + pass * rowsPerPass * rowBytes) / 2 + e] = matrix[row][chunk * 8 + e];
                }
            }
        }
        return smem;
    }

    /** SwizzledFragments' four lane offsets and its address of block (row0, col0). */
    private static int address(int rowBytes, int laneRow, int laneHalf, int row0, int col0) {
        int j = col0 / 16;
        int offset = laneRow * rowBytes + (((laneHalf ^ (laneRow & 7)) ^ (2 * (j % 4))) << 4);
        return offset + row0 * rowBytes + 128 * (j / 4);
    }

    private enum Operand { A, B, B_TRANSPOSED }

    private static int[] laneRowAndHalf(Operand operand, int lane) {
        return switch (operand) {
            case A -> new int[] {WARP_ROW + (lane & 15), lane >> 4};
            case B -> new int[] {(lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1};
            case B_TRANSPOSED -> new int[] {(lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4};
        };
    }

    /** ldmatrix.x4: regs[lane][matrix][half]. */
    private static double[][][] ldmatrix(double[] smem, int d, Operand operand, int row0, int col0) {
        int[] rowAddress = new int[32];
        for (int lane = 0; lane < 32; lane++) {
            int[] rh = laneRowAndHalf(operand, lane);
            rowAddress[lane] = address(2 * d, rh[0], rh[1], row0, col0);
        }
        double[][][] regs = new double[32][4][2];
        for (int lane = 0; lane < 32; lane++) {
            for (int m = 0; m < 4; m++) {
                for (int half = 0; half < 2; half++) {
                    regs[lane][m][half] = operand == Operand.B_TRANSPOSED
                            ? smem[rowAddress[8 * m + 2 * (lane % 4) + half] / 2 + lane / 4]
                            : smem[rowAddress[8 * m + lane / 4] / 2 + 2 * (lane % 4) + half];
                }
            }
        }
        return regs;
    }

    /** acc[lane][4] += A B over the fragment layouts; a[lane][4][2], b[lane][2][2]. */
    private static void mma(double[][] acc, double[][][] a, double[][][] b) {
        double[][] am = new double[16][16];
        double[][] bm = new double[16][8];
        for (int lane = 0; lane < 32; lane++) {
            for (int r = 0; r < 4; r++) {
                for (int h = 0; h < 2; h++) am[FragmentA.row(lane, r)][FragmentA.col(lane, r, h)] = a[lane][r][h];
            }
            for (int r = 0; r < 2; r++) {
                for (int h = 0; h < 2; h++) bm[FragmentB.row(lane, r, h)][FragmentB.col(lane)] = b[lane][r][h];
            }
        }
        for (int lane = 0; lane < 32; lane++) {
            for (int r = 0; r < 4; r++) {
                int row = FragmentC.row(lane, r);
                int col = FragmentC.col(lane, r);
                for (int kk = 0; kk < 16; kk++) acc[lane][r] += am[row][kk] * bm[kk][col];
            }
        }
    }

    private static double[][][] slice(double[][][] regs, int from) {
        double[][][] out = new double[32][2][];
        for (int lane = 0; lane < 32; lane++) {
            out[lane][0] = regs[lane][from];
            out[lane][1] = regs[lane][from + 1];
        }
        return out;
    }

    private static double[][] randomMatrix(Random random, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int c = 0; c < cols; c++) row[c] = random.nextInt(9) - 4;
        }
        return m;
    }

    @ParameterizedTest(name = "head dim {0}")
    @ValueSource(ints = {64, 128})
    void oneWarpStepComputesSoftmaxInputsAndPv(int d) {
        Random random = new Random(d);
        double[][] q = randomMatrix(random, 32, d);
        double[][] k = randomMatrix(random, BLOCK_N, d);
        double[][] v = randomMatrix(random, BLOCK_N, d);
        double[] qSmem = storeLikeRowTileLoad(q, d);
        double[] kSmem = storeLikeRowTileLoad(k, d);
        double[] vSmem = storeLikeRowTileLoad(v, d);

        double[][][][] qFrags = new double[d / 16][][][];
        for (int d0 = 0; d0 < d; d0 += 16) qFrags[d0 / 16] = ldmatrix(qSmem, d, Operand.A, 0, d0);
        double[][][] scores = new double[BLOCK_N / 8][32][4];
        for (int d0 = 0; d0 < d; d0 += 16) {
            for (int n0 = 0; n0 < BLOCK_N; n0 += 16) {
                double[][][] b = ldmatrix(kSmem, d, Operand.B, n0, d0);
                mma(scores[n0 / 8], qFrags[d0 / 16], slice(b, 0));
                mma(scores[n0 / 8 + 1], qFrags[d0 / 16], slice(b, 2));
            }
        }
        double[][] p = new double[16][BLOCK_N];
        for (int f = 0; f < scores.length; f++) {
            for (int lane = 0; lane < 32; lane++) {
                for (int r = 0; r < 4; r++) {
                    int row = FragmentC.row(lane, r);
                    int key = 8 * f + FragmentC.col(lane, r);
                    double expected = 0;
                    for (int i = 0; i < d; i++) expected += q[WARP_ROW + row][i] * k[key][i];
                    assertEquals(expected, scores[f][lane][r], "S[" + row + "][" + key + "]");
                    p[row][key] = scores[f][lane][r] % 7;
                }
            }
        }

        // OnlineSoftmax's repacking: fragments 2j and 2j+1 of the score row become A fragment j.
        double[][][][] pFrags = new double[BLOCK_N / 16][32][4][2];
        for (int j = 0; j < BLOCK_N / 16; j++) {
            for (int lane = 0; lane < 32; lane++) {
                double[] lo = new double[4];
                double[] hi = new double[4];
                for (int r = 0; r < 4; r++) {
                    lo[r] = p[FragmentC.row(lane, r)][16 * j + FragmentC.col(lane, r)];
                    hi[r] = p[FragmentC.row(lane, r)][16 * j + 8 + FragmentC.col(lane, r)];
                }
                pFrags[j][lane] = new double[][] {{lo[0], lo[1]}, {lo[2], lo[3]}, {hi[0], hi[1]}, {hi[2], hi[3]}};
            }
        }
        double[][][] out = new double[d / 8][32][4];
        for (int j = 0; j < BLOCK_N / 16; j++) {
            for (int d0 = 0; d0 < d; d0 += 16) {
                double[][][] b = ldmatrix(vSmem, d, Operand.B_TRANSPOSED, 16 * j, d0);
                mma(out[d0 / 8], pFrags[j], slice(b, 0));
                mma(out[d0 / 8 + 1], pFrags[j], slice(b, 2));
            }
        }
        for (int f = 0; f < out.length; f++) {
            for (int lane = 0; lane < 32; lane++) {
                for (int r = 0; r < 4; r++) {
                    int row = FragmentC.row(lane, r);
                    int col = 8 * f + FragmentC.col(lane, r);
                    double expected = 0;
                    for (int key = 0; key < BLOCK_N; key++) expected += p[row][key] * v[key][col];
                    assertEquals(expected, out[f][lane][r], "O[" + row + "][" + col + "]");
                }
            }
        }
    }

    @Test
    void diagonalMaskLimitKeepsExactlyTheKeysAtOrBeforeEachRowsPosition() {
        for (int firstPosition : new int[] {0, 5, 63, 64, 100, 1000}) {
            int firstMaskedTile = (firstPosition + 1) / BLOCK_N;
            for (int tile = 0; tile < firstMaskedTile + 4; tile++) {
                for (int warpRow = 0; warpRow < 128; warpRow += 16) {
                    for (int lane = 0; lane < 32; lane++) {
                        int group = lane >> 2;
                        int pair = (lane & 3) << 1;
                        int limit = firstPosition + warpRow + group - (tile * BLOCK_N + pair);
                        for (int half = 0; half < 2; half++) {
                            int rowLimit = limit + 8 * half;
                            for (int f = 0; f < BLOCK_N / 8; f++) {
                                for (int c = 0; c < 2; c++) {
                                    int key = tile * BLOCK_N + 8 * f + pair + c;
                                    int position = firstPosition + warpRow + group + 8 * half;
                                    boolean masked = rowLimit < 8 * f + c;
                                    assertEquals(key > position, masked, "key " + key + " position " + position);
                                    if (tile < firstMaskedTile) {
                                        assertEquals(false, masked, "tile " + tile + " is before the diagonal");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
