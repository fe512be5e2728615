package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;

import java.util.HashMap;
import java.util.Map;

/** A sparse index in {@link WarpEmulator}'s memory, for the emulation tests of the kernels that read one. */
final class EmulatedIndexes {
    private EmulatedIndexes() {
    }

    /** The packed index's six arrays uploaded, by the kernels' parameter names. */
    static Map<String, Long> upload(WarpEmulator gpu, DeviceSparseIndex.Packed packed) {
        Map<String, Long> params = new HashMap<>();
        params.put("rangeOffsets", gpu.upload(WarpEmulator.u32Bytes(packed.rangeOffsets())));
        params.put("rangeCounts", gpu.upload(WarpEmulator.u32Bytes(packed.rangeCounts())));
        params.put("ranges", gpu.upload(WarpEmulator.u32Bytes(packed.ranges())));
        params.put("columnOffsets", gpu.upload(WarpEmulator.u32Bytes(packed.columnOffsets())));
        params.put("columnCounts", gpu.upload(WarpEmulator.u32Bytes(packed.columnCounts())));
        params.put("columns", gpu.upload(WarpEmulator.u32Bytes(packed.columns())));
        return params;
    }
}
