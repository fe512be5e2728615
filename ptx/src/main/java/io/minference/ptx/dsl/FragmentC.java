package io.minference.ptx.dsl;

import java.util.List;

/**
 * One warp's f32 accumulator of {@code mma.m16n8k16}: a 16x8 tile, four floats per lane. With
 * {@code g = lane / 4} and {@code t = lane % 4}, register r holds row {@code g + 8 * (r / 2)}, column
 * {@code 2t + r % 2}; so registers 0,1 (and 2,3) are adjacent columns, stored together as one 8-byte vector.
 *
 * @param regs the four accumulator variables
 */
public record FragmentC(List<F32> regs) {
    public FragmentC {
        if (regs.size() != 4) {
            throw new IllegalArgumentException("a C fragment has 4 registers, got " + regs.size());
        }
        regs = List.copyOf(regs);
    }

    /** Row (0..15) of the tile held by {@code lane} in register {@code reg}. */
    public static int row(int lane, int reg) {
        return lane / 4 + 8 * (reg / 2);
    }

    /** Column (0..7) of the tile held by {@code lane} in register {@code reg}. */
    public static int col(int lane, int reg) {
        return 2 * (lane % 4) + reg % 2;
    }
}
