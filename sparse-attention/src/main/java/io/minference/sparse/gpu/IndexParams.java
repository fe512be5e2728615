package io.minference.sparse.gpu;

import static io.minference.ptx.dsl.Address.global;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The compact device index as both sparse prefill kernels take it: its six arrays as kernel parameters, in the order
 * {@link SparseFlashAttention} passes them ({@link DeviceSparseIndex} says what each holds), and where one (head,
 * query block) slot's ranges and columns begin.
 */
record IndexParams(U64 rangeOffsets, U64 rangeCounts, U64 ranges, U64 columnOffsets, U64 columnCounts,
                   U64 columns) {
    static IndexParams declare(KernelBuilder k) {
        return new IndexParams(k.pointerParam("rangeOffsets"), k.pointerParam("rangeCounts"),
                k.pointerParam("ranges"), k.pointerParam("columnOffsets"), k.pointerParam("columnCounts"),
                k.pointerParam("columns"));
    }

    /** The first of the slot's (start, end) pairs: {@code ranges} at the slot's offset. */
    U64 slotRanges(KernelBuilder k, U32 slot) {
        return k.add(ranges, k.mulWide(k.loadU32(global(k.add(rangeOffsets, k.mulWide(slot, 4)))), 8))
                .named("slotRanges");
    }

    /** The first of the slot's gathered key columns: {@code columns} at the slot's offset. */
    U64 slotColumns(KernelBuilder k, U32 slot) {
        return k.add(columns, k.mulWide(k.loadU32(global(k.add(columnOffsets, k.mulWide(slot, 4)))), 4))
                .named("slotColumns");
    }
}
