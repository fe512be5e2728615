package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentB;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;

import java.util.List;

import static io.minference.ptx.dsl.HalfType.BF16;

/**
 * One lane's plan for {@code ldmatrix.x4} reads of 16x16 bf16 blocks out of a swizzled row-major tile (rows of a
 * multiple of 128 bytes, 16-byte chunk c of row r stored at chunk {@code c ^ (r % 8)}).
 * <p>Lanes 8i..8i+7 address the 8 rows of matrix i. Which rows and which 8-column half a lane addresses depends on
 * the operand ({@link #operandA}, {@link #operandB}, {@link #operandBTransposed}); the block's row origin is a
 * multiple of 8, so {@code row % 8} and with it the swizzle is fixed per lane. Column block j (16 columns, two
 * chunks 2j and 2j+1) is stored at byte {@code 128 (j / 4) + 16 (((2 (j % 4) + half) ^ (row % 8))}: four lane
 * offsets, one per {@code j % 4}, serve every column block and every row origin as immediate offsets.
 */
public final class SwizzledFragments {
    private final int rowBytes;
    private final U32[] laneOffsets;

    private SwizzledFragments(KernelBuilder k, int rowBytes, U32 laneRow, U32 laneHalf, String name) {
        if (rowBytes % 128 != 0) {
            throw new IllegalArgumentException("swizzled tiles need rows of a multiple of 128 bytes, got " + rowBytes);
        }
        this.rowBytes = rowBytes;
        int offsets = Math.min(4, rowBytes / 32);
        laneOffsets = new U32[offsets];
        U32 rowStart = k.mul(laneRow, rowBytes);
        U32 swizzle = k.xor(laneHalf, k.and(laneRow, 7));
        for (int q = 0; q < offsets; q++) {
            laneOffsets[q] = k.add(rowStart, k.shl(k.xor(swizzle, 2L * q), 4)).named(name);
        }
    }

    /** A operand from an [m][k] tile, for the warp whose 16 rows start at {@code warpRow} (a multiple of 8). */
    public static SwizzledFragments operandA(KernelBuilder k, int rowBytes, U32 lane, U32 warpRow) {
        return new SwizzledFragments(k, rowBytes, k.add(warpRow, k.and(lane, 15)), k.shr(lane, 4), "aLane");
    }

    /** B operand from an [n][k] tile (k contiguous): no transpose. */
    public static SwizzledFragments operandB(KernelBuilder k, int rowBytes, U32 lane) {
        U32 row = k.add(k.and(lane, 7), k.shl(k.shr(lane, 4), 3));
        return new SwizzledFragments(k, rowBytes, row, k.and(k.shr(lane, 3), 1), "bLane");
    }

    /** B operand from a [k][n] tile (n contiguous), read with {@code ldmatrix.trans}. */
    public static SwizzledFragments operandBTransposed(KernelBuilder k, int rowBytes, U32 lane) {
        U32 row = k.add(k.and(lane, 7), k.shl(k.and(k.shr(lane, 3), 1), 3));
        return new SwizzledFragments(k, rowBytes, row, k.shr(lane, 4), "vLane");
    }

    private Address address(KernelBuilder k, U32 base, int row0, int col0) {
        if (row0 % 8 != 0 || col0 % 16 != 0 || col0 * 2 >= rowBytes) {
            throw new IllegalArgumentException("block origin (" + row0 + ", " + col0 + ") is not on the 8x16 grid");
        }
        int j = col0 / 16;
        return Address.shared(k.add(base, laneOffsets[j % 4])).plus((long) row0 * rowBytes + 128L * (j / 4));
    }

    /** The A fragment of rows {@code row0..+15} (relative to the warp's), columns {@code col0..+15}. */
    public FragmentA<Bf16x2> loadA(KernelBuilder k, U32 base, int row0, int col0) {
        return new FragmentA<>(k.loadMatrix(BF16, address(k, base, row0, col0), 4, false));
    }

    /**
     * The two B fragments of output columns {@code n0..+7} and {@code n0+8..+15} over {@code k0..+15}. Without
     * transpose the tile is [n][k] (address row n0, column k0); transposed it is [k][n] (row k0, column n0).
     */
    public List<FragmentB<Bf16x2>> loadB(KernelBuilder k, U32 base, int n0, int k0,
                                                        boolean transposed) {
        Address at = transposed ? address(k, base, k0, n0) : address(k, base, n0, k0);
        var regs = k.loadMatrix(BF16, at, 4, transposed);
        return List.of(new FragmentB<>(regs.subList(0, 2)), new FragmentB<>(regs.subList(2, 4)));
    }
}
