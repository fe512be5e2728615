package io.minference.ptx.dsl;

import java.util.List;

/**
 * One warp's B operand of {@code mma.m16n8k16} (".col": k runs along each packed pair): a 16x8 tile (rows k,
 * columns n), two packed registers per lane. With {@code g = lane / 4} and {@code t = lane % 4}, register r holds
 * column {@code g}, rows {@code 2t + 8r} (low half) and {@code 2t + 8r + 1} (high half).
 *
 * @param regs the two registers, in mma operand order
 * @param <P>  bf16x2 or f16x2
 */
public record FragmentB<P extends PackedHalf2>(List<P> regs) {
    public FragmentB {
        if (regs.size() != 2) {
            throw new IllegalArgumentException("a B fragment has 2 registers, got " + regs.size());
        }
        regs = List.copyOf(regs);
    }

    /** Row k (0..15) of the tile held by {@code lane} in the {@code half} of register {@code reg}. */
    public static int row(int lane, int reg, int half) {
        return 2 * (lane % 4) + 8 * reg + half;
    }

    /** Column n (0..7) of the tile held by {@code lane}. */
    public static int col(int lane) {
        return lane / 4;
    }
}
