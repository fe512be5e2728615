package io.minference.ptx.tile;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * A warp's 16-row f32 accumulator of {@link #columns()} columns, held as m16n8 C fragments side by side: the D
 * operand of {@code mma.sync.m16n8k16}, the scores and the output of the flash kernels. Lane l holds rows
 * {@code g = l / 4} (half 0) and {@code g + 8} (half 1), and columns {@code 2 (l % 4)} and {@code + 1} of every
 * 8-column fragment: {@link #at(int, int, int)} names an entry by those coordinates instead of a register index.
 */
public final class AccumulatorTile {
    private final FragmentC[] fragments;

    private AccumulatorTile(FragmentC[] fragments) {
        this.fragments = fragments;
    }

    /** A zeroed tile of {@code columns} columns (a multiple of 8), its registers named after {@code name}. */
    public static AccumulatorTile zero(KernelBuilder k, int columns, String name) {
        if (columns < 8 || columns % 8 != 0) {
            throw new IllegalArgumentException("an accumulator tile has a positive multiple of 8 columns, not "
                    + columns);
        }
        FragmentC[] fragments = new FragmentC[columns / 8];
        for (int i = 0; i < fragments.length; i++) {
            fragments[i] = k.zeroAccumulator(name);
        }
        return new AccumulatorTile(fragments);
    }

    /**
     * The tile of fragments a caller already holds, side by side (each 8 columns): for accumulators another
     * instruction fills in the same per-lane layout, such as one warp's quarter of a wgmma m64nNk16 accumulator.
     */
    public static AccumulatorTile of(FragmentC... fragments) {
        if (fragments.length == 0) throw new IllegalArgumentException("an accumulator tile needs fragments");
        return new AccumulatorTile(fragments.clone());
    }

    public int columns() {
        return 8 * fragments.length;
    }

    /** The 8-column fragments. */
    public int fragmentCount() {
        return fragments.length;
    }

    /**
     * The lane's entry in row half {@code half} (0: row g, 1: row g + 8), fragment {@code fragment}, column c of its
     * pair.
     */
    public F32 at(int half, int fragment, int c) {
        return fragments[fragment].regs().get(2 * half + c);
    }

    /** The lane's entries of row half {@code half}, in column order (two per fragment). */
    public List<F32> row(int half) {
        List<F32> row = new ArrayList<>(2 * fragments.length);
        for (FragmentC fragment : fragments) {
            row.add(fragment.regs().get(2 * half));
            row.add(fragment.regs().get(2 * half + 1));
        }
        return row;
    }

    /** Accumulates {@code a · b} into columns {@code [n0, n0 + 16)}: {@code b} as the two n8 halves ldmatrix gives. */
    public void mma(KernelBuilder k, int n0, FragmentA<Bf16x2> a, List<FragmentB<Bf16x2>> b) {
        if (n0 % 16 != 0 || n0 + 16 > columns()) {
            throw new IllegalArgumentException("columns [" + n0 + ", " + (n0 + 16) + ") are not a 16-column step of "
                    + columns());
        }
        k.mma(fragments[n0 / 8], a, b.get(0));
        k.mma(fragments[n0 / 8 + 1], a, b.get(1));
    }
}
