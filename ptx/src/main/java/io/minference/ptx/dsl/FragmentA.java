package io.minference.ptx.dsl;

import java.util.List;

/**
 * One warp's A operand of {@code mma.m16n8k16}: a 16x16 tile (rows m, columns k), four packed registers per lane.
 * With {@code g = lane / 4} and {@code t = lane % 4}, register r holds the element pair at
 * row {@code g + 8 * (r % 2)}, columns {@code 2t + 8 * (r / 2)} (low half) and that plus one (high half).
 *
 * @param regs the four registers, in mma operand order
 * @param <P>  bf16x2 or f16x2
 */
public record FragmentA<P extends PackedHalf2>(List<P> regs) {
    public FragmentA {
        if (regs.size() != 4) {
            throw new IllegalArgumentException("an A fragment has 4 registers, got " + regs.size());
        }
        regs = List.copyOf(regs);
    }

    /** Row (0..15) of the tile held by {@code lane} in register {@code reg}. */
    public static int row(int lane, int reg) {
        return lane / 4 + 8 * (reg % 2);
    }

    /** Column (0..15) of the tile held by {@code lane} in the {@code half} (0 low, 1 high) of {@code reg}. */
    public static int col(int lane, int reg, int half) {
        return 2 * (lane % 4) + 8 * (reg / 2) + half;
    }
}
