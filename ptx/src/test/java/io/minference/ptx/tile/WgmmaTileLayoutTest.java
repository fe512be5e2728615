package io.minference.ptx.tile;

import io.minference.ptx.dsl.WarpgroupOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The swizzled tile's arithmetic against the two layouts it must agree with, emulated on the CPU: where TMA with
 * {@code CU_TENSOR_MAP_SWIZZLE_128B} puts element (row, column) ({@link WgmmaTile#byteOffset}), and where wgmma reads
 * operand element (mn, k) from a descriptor, by the canonical 128-byte-swizzled layouts (K-major: 8 rows of 128
 * bytes, row groups SBO apart; MN-major: 64 MN-elements per 128-byte row, K rows 128 bytes apart, 8-row groups SBO
 * apart, 64-element MN blocks LBO apart), with the swizzle applied to the address bits: bits 4-6 XOR bits 7-9.
 * Every operand element of every k-step must land on the element the kernel means.
 */
class WgmmaTileLayoutTest {
    private static int swizzle(int address) {
        return address ^ (((address >> 7) & 7) << 4);
    }

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"128, 128", "64, 128", "128, 64", "64, 64"})
    void tmaLayoutIsABijectionOverTheTile(int rows, int width) {
        WgmmaTile tile = new WgmmaTile(null, rows, width);
        Set<Integer> seen = new HashSet<>();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < width; c++) {
                int offset = tile.byteOffset(r, c);
                assertTrue(offset >= 0 && offset + 2 <= tile.bytes() && offset % 2 == 0);
                assertTrue(seen.add(offset), "two elements at " + offset);
            }
        }
    }

    @ParameterizedTest(name = "{0} x {1}, operand rows from {2}, {3} of them")
    @CsvSource({"128, 128, 0, 64", "128, 128, 64, 64", "128, 128, 0, 128", "128, 64, 64, 64", "64, 128, 0, 64"})
    void kMajorOperandsReadTheIntendedElements(int rows, int width, int firstRow, int operandRows) {
        WgmmaTile tile = new WgmmaTile(null, rows, width);
        for (int step = 0; step < width / 16; step++) {
            int start = tile.kMajorOffset(firstRow, step);
            for (int mn = 0; mn < operandRows; mn++) {
                for (int k = 0; k < 16; k++) {
                    int read = swizzle(start + (mn % 8) * 128 + (mn / 8) * WarpgroupOps.SWIZZLE_ATOM_BYTES + 2 * k);
                    assertEquals(tile.byteOffset(firstRow + mn, 16 * step + k), read,
                            "k-step " + step + ", element (" + mn + ", " + k + ")");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} keys x {1}")
    @CsvSource({"128, 128", "128, 64", "64, 128"})
    void mnMajorOperandsReadTheIntendedElements(int rows, int width) {
        WgmmaTile tile = new WgmmaTile(null, rows, width);
        int leading = tile.blockBytes();
        for (int step = 0; step < rows / 16; step++) {
            int start = tile.mnMajorOffset(step);
            for (int n = 0; n < width; n++) {
                for (int k = 0; k < 16; k++) {
                    int read = swizzle(start + (n % 64) * 2 + (n / 64) * leading + (k % 8) * 128
                            + (k / 8) * WarpgroupOps.SWIZZLE_ATOM_BYTES);
                    assertEquals(tile.byteOffset(16 * step + k, n), read,
                            "k-step " + step + ", element (n " + n + ", k " + k + ")");
                }
            }
        }
    }
}
