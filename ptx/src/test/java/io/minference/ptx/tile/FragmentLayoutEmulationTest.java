package io.minference.ptx.tile;

import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plain-Java emulation of the tile GEMM's data path for one 16x16x16 step, from the PTX ISA's definitions: lanes'
 * ldmatrix row addresses (as {@link FragmentLoader} computes them) into a swizzled tile, the ldmatrix result
 * distribution, then mma over the fragment layouts of {@link FragmentA}, {@link FragmentB}, {@link FragmentC}.
 * If the loaders' lane mapping or the fragment layouts disagreed, the product would not be A * B^T.
 */
class FragmentLayoutEmulationTest {
    private static final int COLS = 64;

    /** A swizzled [rows][64] tile of values, addressed by byte offsets as shared memory is. */
    private static double[] storeSwizzled(SharedTile tile, double[][] matrix) {
        double[] bytes2 = new double[tile.bytes() / 2];
        for (int r = 0; r < matrix.length; r++) {
            for (int c = 0; c < COLS; c++) {
                int offset = tile.offset(r, c / 8) - tile.byteOffset() + (c % 8) * 2;
                bytes2[offset / 2] = matrix[r][c];
            }
        }
        return bytes2;
    }

    /** ldmatrix.x4 (no transpose): lane l gets, in register i, row l/4 and columns 2(l%4), +1 of matrix i. */
    private static double[][][] ldmatrixX4(double[] smem, int[] rowByteAddress) {
        double[][][] regs = new double[32][4][2];
        for (int lane = 0; lane < 32; lane++) {
            for (int m = 0; m < 4; m++) {
                int rowAddress = rowByteAddress[8 * m + lane / 4];
                for (int half = 0; half < 2; half++) {
                    regs[lane][m][half] = smem[rowAddress / 2 + 2 * (lane % 4) + half];
                }
            }
        }
        return regs;
    }

    /** The byte offset lane l supplies, mirroring FragmentLoader: A lanes read row l%16, chunk l/16. */
    private static int laneAddressA(SharedTile tile, int lane, int row0, int col0) {
        return tile.offset(row0 + lane % 16, col0 / 8 + lane / 16) - tile.byteOffset();
    }

    /** B ([n][k] tile) lanes read row (l%8) + 8(l/16), chunk (l/8)%2. */
    private static int laneAddressB(SharedTile tile, int lane, int n0, int k0) {
        return tile.offset(n0 + lane % 8 + 8 * (lane / 16), k0 / 8 + (lane / 8) % 2) - tile.byteOffset();
    }

    @Test
    void ldmatrixFragmentsFeedMmaToComputeABTransposed() {
        Random random = new Random(7);
        double[][] a = new double[32][COLS];
        double[][] b = new double[32][COLS];
        for (double[][] m : new double[][][] {a, b}) {
            for (double[] row : m) {
                for (int c = 0; c < COLS; c++) {
                    row[c] = random.nextInt(17) - 8;
                }
            }
        }
        SharedTile tileA = new SharedTile(32, COLS, 2, TileLayout.swizzled(), 0);
        SharedTile tileB = tileA.following(32, COLS);
        double[] smemA = storeSwizzled(tileA, a);
        double[] smemB = storeSwizzled(tileB, b);
        int row0 = 16;
        int n0 = 16;
        for (int k0 = 0; k0 < COLS; k0 += 16) {
            int[] addrA = new int[32];
            int[] addrB = new int[32];
            for (int lane = 0; lane < 32; lane++) {
                addrA[lane] = laneAddressA(tileA, lane, row0, k0);
                addrB[lane] = laneAddressB(tileB, lane, n0, k0);
            }
            double[][][] fragA = ldmatrixX4(smemA, addrA);
            double[][][] fragB = ldmatrixX4(smemB, addrB);
            for (int pair = 0; pair < 2; pair++) {
                double[][] c = new double[16][8];
                for (int lane = 0; lane < 32; lane++) {
                    for (int reg = 0; reg < 4; reg++) {
                        double sum = 0;
                        int row = FragmentC.row(lane, reg);
                        int col = FragmentC.col(lane, reg);
                        for (int kk = 0; kk < 16; kk++) {
                            sum += elementA(fragA, row, kk) * elementB(fragB, pair, kk, col);
                        }
                        c[row][col] = sum;
                    }
                }
                for (int i = 0; i < 16; i++) {
                    for (int j = 0; j < 8; j++) {
                        double expected = 0;
                        for (int kk = 0; kk < 16; kk++) {
                            expected += a[row0 + i][k0 + kk] * b[n0 + 8 * pair + j][k0 + kk];
                        }
                        assertEquals(expected, c[i][j], "C[" + i + "][" + j + "] k0=" + k0 + " pair=" + pair);
                    }
                }
            }
        }
    }

    /** A[row][k] as mma sees it: the lane and register that hold it per FragmentA's layout. */
    private static double elementA(double[][][] frag, int row, int k) {
        for (int lane = 0; lane < 32; lane++) {
            for (int reg = 0; reg < 4; reg++) {
                for (int half = 0; half < 2; half++) {
                    if (FragmentA.row(lane, reg) == row && FragmentA.col(lane, reg, half) == k) {
                        return frag[lane][reg][half];
                    }
                }
            }
        }
        throw new AssertionError("no lane holds A[" + row + "][" + k + "]");
    }

    /** B[k][n] of fragment {@code pair} (registers 2*pair, 2*pair+1 of the x4 load) per FragmentB's layout. */
    private static double elementB(double[][][] frag, int pair, int k, int n) {
        for (int lane = 0; lane < 32; lane++) {
            for (int reg = 0; reg < 2; reg++) {
                for (int half = 0; half < 2; half++) {
                    if (FragmentB.col(lane) == n && FragmentB.row(lane, reg, half) == k) {
                        return frag[lane][2 * pair + reg][half];
                    }
                }
            }
        }
        throw new AssertionError("no lane holds B[" + k + "][" + n + "]");
    }

    @Test
    void swizzleSpreadsEveryLdmatrixOverAllBanks() {
        SharedTile tile = new SharedTile(128, 64, 2, TileLayout.swizzled(), 0);
        for (int row0 = 0; row0 < 128; row0 += 8) {
            for (int chunk = 0; chunk < 8; chunk++) {
                Set<Integer> bankGroups = new HashSet<>();
                for (int r = 0; r < 8; r++) {
                    bankGroups.add(tile.offset(row0 + r, chunk) / 16 % 8);
                }
                assertEquals(8, bankGroups.size(), "rows " + row0 + ".. chunk " + chunk + " conflict");
            }
        }
        Set<Integer> offsets = new HashSet<>();
        for (int r = 0; r < 128; r++) {
            for (int c = 0; c < 8; c++) {
                assertTrue(offsets.add(tile.offset(r, c)), "two chunks share an offset");
            }
        }
        assertEquals(128 * 128, tile.bytes());
    }

    @Test
    void paddedAndRowMajorLayouts() {
        SharedTile padded = new SharedTile(16, 64, 2, TileLayout.padded(16), 256);
        assertEquals(16 * 144, padded.bytes());
        assertEquals(256 + 3 * 144 + 2 * 16, padded.offset(3, 2));
        SharedTile plain = new SharedTile(16, 64, 2, TileLayout.rowMajor(), 0);
        assertEquals(3 * 128 + 2 * 16, plain.offset(3, 2));
        assertThrowsMessage("multiple of 128 bytes", () -> new SharedTile(16, 32, 2, TileLayout.swizzled(), 0));
        assertThrowsMessage("positive multiple of 16", () -> TileLayout.padded(8));
    }

    private static void assertThrowsMessage(String expected, Runnable action) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, action::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
