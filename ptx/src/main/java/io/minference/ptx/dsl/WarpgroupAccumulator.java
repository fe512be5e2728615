package io.minference.ptx.dsl;

import java.util.ArrayList;
import java.util.List;

/**
 * One warpgroup's f32 accumulator of a {@code wgmma.m64nNk16}: a 64 x N tile, N / 2 floats per thread. Warp
 * {@code w} of the warpgroup (4 consecutive warps) holds rows {@code 16w .. 16w + 15}, and within them the
 * registers {@code 4j .. 4j + 3} are the {@link FragmentC} of columns {@code 8j .. 8j + 7}: the same per-warp
 * layout as N / 8 mma.sync accumulators side by side, so code written for those fragments (the online softmax,
 * the bf16 epilogue) reads a wgmma accumulator through {@link #fragments()}.
 *
 * @param columns N, a multiple of 8 in 8..256
 * @param regs    the N / 2 accumulator variables, in wgmma operand order
 */
public record WarpgroupAccumulator(int columns, List<F32> regs) {
    public WarpgroupAccumulator {
        if (columns < 8 || columns > 256 || columns % 8 != 0) {
            throw new IllegalArgumentException("a wgmma accumulator has 8..256 columns in steps of 8, not " + columns);
        }
        if (regs.size() != columns / 2) {
            throw new IllegalArgumentException("a 64x" + columns + " accumulator has " + columns / 2
                    + " registers per thread, got " + regs.size());
        }
        regs = List.copyOf(regs);
    }

    /** The accumulator as N / 8 warp fragments, fragment j covering columns {@code 8j .. 8j + 7}. */
    public FragmentC[] fragments() {
        FragmentC[] fragments = new FragmentC[columns / 8];
        for (int j = 0; j < fragments.length; j++) {
            fragments[j] = new FragmentC(new ArrayList<>(regs.subList(4 * j, 4 * j + 4)));
        }
        return fragments;
    }

    /** Row (0..63) of the tile held by thread {@code thread} (0..127 in the warpgroup) in register {@code reg}. */
    public static int row(int thread, int reg) {
        return 16 * (thread / 32) + FragmentC.row(thread % 32, reg % 4);
    }

    /** Column of the tile held by thread {@code thread} in register {@code reg}. */
    public static int col(int thread, int reg) {
        return 8 * (reg / 4) + FragmentC.col(thread % 32, reg % 4);
    }
}
