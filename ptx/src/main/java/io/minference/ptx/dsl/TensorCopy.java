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
        checkTile(destination, coordinates);
        emitter().instruction("cp.async.bulk.tensor." + coordinates.length
                        + "d.shared::cluster.global.mbarrier::complete_tx::bytes", destination,
                new TensorOperand(map, coordinates), Address.shared(barrier.address()));
    }

    /**
     * {@link #loadTile} multicast to the CTAs of the cluster that {@code ctaMask} names (bit r for rank r, a 16-bit
     * register: {@link #ctaMask}), {@code .multicast::cluster}: the box is read from global memory (L2) once and
     * written at {@code destination}'s offset in the shared memory of each of those CTAs, completing its bytes on
     * the mbarrier at {@code barrier}'s offset in each of them. CTAs that need the same tile share one load instead
     * of each fetching it; each destination's barrier must expect the bytes, and no CTA of the mask may still be
     * reading the destination.
     */
    default void loadTileMulticast(Address destination, TensorMapParam map, MBarrier barrier, B16 ctaMask,
                                   Reg... coordinates) {
        checkTile(destination, coordinates);
        emitter().instruction("cp.async.bulk.tensor." + coordinates.length
                        + "d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster", destination,
                new TensorOperand(map, coordinates), Address.shared(barrier.address()), ctaMask);
    }

    /** A multicast's mask in a 16-bit register ({@code mov.b16}): bit r names the cluster's CTA of rank r. */
    default B16 ctaMask(int ranks) {
        if (ranks <= 0 || ranks > 0xFFFF) {
            throw new IllegalArgumentException("a cluster's CTA mask is 1..0xFFFF, not " + ranks);
        }
        B16 mask = emitter().declare(new B16("ctaMask"));
        emitter().instruction("mov.b16", mask, Integer.toString(ranks));
        return mask;
    }

    private static void checkTile(Address destination, Reg[] coordinates) {
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
    }

    /** {@code prefetch.tensormap}: brings the map into the descriptor cache before the first copy needs it. */
    default void prefetchTensorMap(TensorMapParam map) {
        emitter().instruction("prefetch.tensormap", Address.global(map.address()));
    }

    /**
     * {@code cp.async.bulk.prefetch.L2.global}: asks the copy engine to bring {@code bytes} bytes of global memory
     * from {@code source} (16-byte aligned; {@code bytes} a positive multiple of 16) into L2, and returns at once;
     * nothing waits for it, and nothing is written anywhere but the cache. For a producer that knows which rows it
     * will copy a few steps later, so that the copy then finds them in L2 instead of memory.
     */
    default void prefetchToL2(Address source, int bytes) {
        if (source.space() != Space.GLOBAL) {
            throw new IllegalArgumentException("an L2 prefetch reads global memory, not " + source.space().ptx());
        }
        if (bytes <= 0 || bytes % 16 != 0) {
            throw new IllegalArgumentException("an L2 prefetch takes a positive multiple of 16 bytes, not " + bytes);
        }
        emitter().instruction("cp.async.bulk.prefetch.L2.global", source, Integer.toString(bytes));
    }

    /** The {@code [map, {c0, c1, ...}]} operand of a TMA copy. */
    record TensorOperand(TensorMapParam map, Reg[] coordinates) {
    }
}
