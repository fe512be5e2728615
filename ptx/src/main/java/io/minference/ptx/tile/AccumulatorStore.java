package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * One lane's plan for writing f32 accumulator fragments into a row-major global f32 matrix: each fragment is two
 * 8-byte stores (rows g and g + 8, columns 2t and 2t + 1).
 */
public final class AccumulatorStore {
    private final U64 laneOffset;
    private final U64 eightRows;
    private final U32 rowBytes;

    /** @param rowBytes bytes between rows of the destination matrix */
    public AccumulatorStore(KernelBuilder k, U32 lane, U32 rowBytes) {
        this.rowBytes = rowBytes;
        U32 group = k.shr(lane, 2);
        U32 inGroup = k.and(lane, 3);
        laneOffset = k.add(k.mulWide(group, rowBytes), k.mulWide(inGroup, 8)).named("cLane");
        eightRows = k.mulWide(rowBytes, 8).named("cEightRows");
    }

    /** The address of row {@code row} (a runtime value) of the matrix at {@code origin}. */
    public U64 rowStart(KernelBuilder k, U64 origin, U32 row) {
        return k.add(origin, k.mulWide(row, rowBytes));
    }

    /** Stores {@code c} as the 16x8 block whose top-left element is at {@code blockOrigin} plus {@code col0} columns. */
    public void store(KernelBuilder k, FragmentC c, U64 blockOrigin, int col0) {
        U64 top = k.add(blockOrigin, laneOffset);
        U64 bottom = k.add(top, eightRows);
        k.storeVector(Address.global(top).plus(col0 * 4L), c.regs().get(0), c.regs().get(1));
        k.storeVector(Address.global(bottom).plus(col0 * 4L), c.regs().get(2), c.regs().get(3));
    }
}
