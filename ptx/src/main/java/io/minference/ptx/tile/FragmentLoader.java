package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.PackedHalf2;
import io.minference.ptx.dsl.U32;

import java.util.ArrayList;
import java.util.List;

/**
 * One lane's plan for reading mma fragments out of a {@link SharedTile} of 16-bit elements with
 * {@code ldmatrix.x4}. An A loader reads 16x16 (m x k) A fragments from a row-major [m][k] tile. A B loader reads
 * from a tile stored [n][k] (each row one output column, k contiguous), which is exactly the ".col" B operand, so
 * no transpose is needed; one load yields the B fragments of two adjacent 8-column groups.
 * <p>The lane's own row and chunk inside the 16x16 block are fixed; its byte offset for every 16-column step is
 * computed once, when the plan is made, so each load is one add and one ldmatrix.
 */
public final class FragmentLoader {
    private final SharedTile tile;
    private final boolean operandA;
    private final List<U32> laneOffsets = new ArrayList<>();

    private FragmentLoader(KernelBuilder k, SharedTile tile, boolean operandA, U32 lane, U32 rowOrigin) {
        if (tile.elementBytes() != 2) {
            throw new IllegalArgumentException("ldmatrix reads 16-bit elements, the tile has " + tile.elementBytes()
                    + "-byte ones");
        }
        if (tile.cols() % 16 != 0) {
            throw new IllegalArgumentException("fragment loads need tile columns in multiples of 16, got " + tile.cols());
        }
        this.tile = tile;
        this.operandA = operandA;
        // Lanes 8i..8i+7 address the rows of 8x8 matrix i; see FragmentA / FragmentB for where those land.
        U32 laneRow = operandA
                ? k.and(lane, 15)
                : k.add(k.and(lane, 7), k.shl(k.shr(lane, 4), 3));
        U32 laneChunk = operandA ? k.shr(lane, 4) : k.and(k.shr(lane, 3), 1);
        U32 row = k.add(laneRow, rowOrigin).named(operandA ? "aRow" : "bRow");
        for (int col = 0; col < tile.cols(); col += 16) {
            laneOffsets.add(tile.offset(k, row, k.add(laneChunk, col / 8)).named(operandA ? "aLane" : "bLane"));
        }
    }

    /** Loads A fragments (row-major [m][k] tile) for the warp whose rows start at {@code rowOrigin} (a multiple of 8). */
    public static FragmentLoader forA(KernelBuilder k, SharedTile tile, U32 lane, U32 rowOrigin) {
        return new FragmentLoader(k, tile, true, lane, rowOrigin);
    }

    /** Loads B fragments from an [n][k] tile for the warp whose columns n start at {@code rowOrigin} (a multiple of 8). */
    public static FragmentLoader forB(KernelBuilder k, SharedTile tile, U32 lane, U32 rowOrigin) {
        return new FragmentLoader(k, tile, false, lane, rowOrigin);
    }

    private Address address(KernelBuilder k, U32 base, int row0, int col0) {
        if (col0 % 16 != 0 || col0 < 0 || col0 >= tile.cols()) {
            throw new IllegalArgumentException("fragment column must be a multiple of 16 inside the tile, got " + col0);
        }
        if (row0 % 8 != 0 || row0 < 0 || row0 + 16 > tile.rows()) {
            throw new IllegalArgumentException("fragment row must be a multiple of 8 inside the tile, got " + row0);
        }
        int rowBytes = tile.layout().rowStride(tile.rowBytes());
        return Address.shared(k.add(base, laneOffsets.get(col0 / 16))).plus(tile.byteOffset() + (long) row0 * rowBytes);
    }

    /** The A fragment for rows {@code row0..row0+15}, columns {@code col0..col0+15} (relative to the warp's rows). */
    public <P extends PackedHalf2> FragmentA<P> loadA(KernelBuilder k, HalfType<P> type, U32 base, int row0, int col0) {
        if (!operandA) {
            throw new IllegalStateException("this loader was planned for B fragments");
        }
        return new FragmentA<>(k.loadMatrix(type, address(k, base, row0, col0), 4, false));
    }

    /**
     * The two B fragments for output columns {@code n0..n0+7} and {@code n0+8..n0+15} (relative to the warp's), over
     * {@code k0..k0+15}.
     */
    public <P extends PackedHalf2> List<FragmentB<P>> loadB(KernelBuilder k, HalfType<P> type, U32 base, int n0,
                                                           int k0) {
        if (operandA) {
            throw new IllegalStateException("this loader was planned for A fragments");
        }
        List<P> regs = k.loadMatrix(type, address(k, base, n0, k0), 4, false);
        return List.of(new FragmentB<>(regs.subList(0, 2)), new FragmentB<>(regs.subList(2, 4)));
    }
}
