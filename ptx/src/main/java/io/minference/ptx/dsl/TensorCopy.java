package io.minference.ptx.dsl;

/**
 * TMA (sm_90): the copy engine moves a whole box of a tensor between global and shared memory, described by a
 * {@link TensorMapParam} the host encoded ({@code cuTensorMapEncodeTiled}: element type, dimensions, strides, box,
 * swizzle). One thread issues a copy; it completes on an {@link MBarrier} as transaction bytes, so the barrier's
 * phase must have announced them ({@link MBarriers#arriveExpectingBytes}). Coordinates are element indices per
 * dimension, innermost first, and may lie partly outside the tensor: those elements read as zero.
 */
public interface TensorCopy extends Values {
    /**
     * {@code cp.async.bulk.tensor.Nd.shared::cluster.global.mbarrier::complete_tx::bytes}: copies the box at
     * {@code coordinates} (1 to 5 of them, 32-bit registers or constants, innermost first) into shared memory at
     * {@code destination} (aligned to 128 bytes, 1024 for 128-byte swizzling), completing on {@code barrier}.
     */
    default void loadTile(Address destination, TensorMapParam map, MBarrier barrier, Reg... coordinates) {
        if (destination.space() != Space.SHARED) {
            throw new IllegalArgumentException("a TMA load writes shared memory, not " + destination.space().ptx());
        }
        if (coordinates.length < 1 || coordinates.length > 5) {
            throw new IllegalArgumentException("a tensor has 1 to 5 dimensions, got " + coordinates.length
                    + " coordinates");
        }
        for (Reg c : coordinates) {
            if (c.type() != RegType.U32 && c.type() != RegType.S32 && c.type() != RegType.B32) {
                throw new IllegalArgumentException("TMA coordinates are 32-bit integers, got ." + c.type().ptx());
            }
        }
        emitter().instruction("cp.async.bulk.tensor." + coordinates.length
                        + "d.shared::cluster.global.mbarrier::complete_tx::bytes", destination,
                new TensorOperand(map, coordinates), Address.shared(barrier.address()));
    }

    /** {@code prefetch.tensormap}: brings the map into the descriptor cache before the first copy needs it. */
    default void prefetchTensorMap(TensorMapParam map) {
        emitter().instruction("prefetch.tensormap", Address.global(map.address()));
    }

    /** The {@code [map, {c0, c1, ...}]} operand of a TMA copy. */
    record TensorOperand(TensorMapParam map, Reg[] coordinates) {
    }
}
