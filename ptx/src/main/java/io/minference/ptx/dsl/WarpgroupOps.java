package io.minference.ptx.dsl;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code wgmma} (sm_90a): asynchronous matrix multiply-accumulate by a warpgroup (4 consecutive warps, the first a
 * multiple of 4), {@code D(64 x N) (+)= A(64 x 16) B(16 x N)} with f32 accumulators in registers. B always comes
 * from shared memory through a {@link MatrixDescriptor}; A from shared memory too, or from registers as
 * {@link FragmentA}s (warp w of the group giving rows 16w..16w+15), which is how P reaches P·V in flash attention.
 * <p>The protocol: {@link #wgmmaFence} before the first wgmma that reads accumulators (or A registers) written by
 * ordinary instructions; the wgmmas; {@link #wgmmaCommit} to close a group; {@link #wgmmaWait} before reading the
 * accumulators. Between issue and wait nothing may touch the accumulator registers, or ptxas serialises the
 * pipeline (advisories C7510, C7511, C7515 in {@code ptxas -v}).
 * <p>Operand layouts here are the 128-byte swizzled ones that TMA writes with {@code CU_TENSOR_MAP_SWIZZLE_128B}:
 * rows of 64 16-bit elements (128 bytes), 16-byte chunks XOR-ed with the row index mod 8, in 1024-byte atoms of 8
 * rows. An operand whose K dimension is contiguous ("K-major": Q and K for S = Q·Kᵀ) and one whose M or N
 * dimension is contiguous ("MN-major": V for P·V, transposed) take different descriptor strides:
 * {@link #kMajor128} and {@link #mnMajor128}.
 */
public interface WarpgroupOps extends Arithmetic, Conversions, Comparisons {
    /** Bytes of one 8-row swizzle atom of a 128-byte-swizzled operand. */
    int SWIZZLE_ATOM_BYTES = 1024;

    /**
     * A descriptor of a 128-byte-swizzled operand at {@code sharedAddress} (1024-byte aligned, or offset from such a
     * base by whole 16-byte steps along K as {@link #advance} does), with leading- and stride-dimension byte
     * offsets {@code leadingBytes} and {@code strideBytes} (multiples of 16, below 256 KiB).
     */
    default MatrixDescriptor swizzled128(U32 sharedAddress, int leadingBytes, int strideBytes) {
        for (int bytes : new int[] {leadingBytes, strideBytes}) {
            if (bytes <= 0 || bytes % 16 != 0 || bytes >= 1 << 18) {
                throw new IllegalArgumentException("descriptor byte offsets are positive multiples of 16 below 256 KiB,"
                        + " got " + bytes);
            }
        }
        long constant = ((long) (leadingBytes >> 4) << 16) | ((long) (strideBytes >> 4) << 32) | (1L << 62);
        U64 start = toU64(and(shr(sharedAddress, 4), u32(0x3FFF)));
        return new MatrixDescriptor(or(start, u64(constant)).named("desc"));
    }

    /**
     * A K-major operand (rows of the M or N dimension, K contiguous in them) stored as 64-element column blocks of
     * {@code rows} x 128 bytes: 8-row atoms 1024 bytes apart. One wgmma reads 16 K-elements (32 bytes) of one
     * column block; {@link #advance} by 32 bytes steps K within a block, by {@code rows * 128} to the next block.
     */
    default MatrixDescriptor kMajor128(U32 sharedAddress) {
        return swizzled128(sharedAddress, 16, SWIZZLE_ATOM_BYTES);
    }

    /**
     * An MN-major operand (rows of the K dimension, M or N contiguous in them) stored as 64-element column blocks of
     * K rows x 128 bytes, {@code blockBytes} apart: N beyond 64 continues in the next block, and the 16 K rows of one
     * wgmma are two 8-row atoms 1024 bytes apart. {@link #advance} by 2048 bytes steps K by 16.
     */
    default MatrixDescriptor mnMajor128(U32 sharedAddress, int blockBytes) {
        return swizzled128(sharedAddress, blockBytes, SWIZZLE_ATOM_BYTES);
    }

    /** The descriptor of the operand {@code bytes} (a multiple of 16) further on in shared memory. */
    default MatrixDescriptor advance(MatrixDescriptor descriptor, int bytes) {
        if (bytes % 16 != 0 || bytes < 0) {
            throw new IllegalArgumentException("descriptors move by non-negative multiples of 16 bytes, not " + bytes);
        }
        return bytes == 0 ? descriptor : new MatrixDescriptor(add(descriptor.bits(), bytes >> 4).named("desc"));
    }

    /** A 64 x {@code columns} accumulator of zeroed variables, updated in place by {@link #wgmma}. */
    default WarpgroupAccumulator warpgroupAccumulator(String name, int columns) {
        List<F32> regs = new ArrayList<>();
        for (int i = 0; i < columns / 2; i++) {
            regs.add(var(name, f32(0)));
        }
        return new WarpgroupAccumulator(columns, regs);
    }

    /** {@code wgmma.fence.sync.aligned}: orders earlier register writes before the next wgmmas read them. */
    default void wgmmaFence() {
        emitter().instruction("wgmma.fence.sync.aligned");
    }

    /** {@code wgmma.commit_group.sync.aligned}: closes the group of wgmmas issued since the last commit. */
    default void wgmmaCommit() {
        emitter().instruction("wgmma.commit_group.sync.aligned");
    }

    /** {@code wgmma.wait_group.sync.aligned}: waits until at most {@code pending} committed groups are in flight. */
    default void wgmmaWait(int pending) {
        if (pending < 0 || pending > 7) {
            throw new IllegalArgumentException("wgmma.wait_group takes 0..7 pending groups, not " + pending);
        }
        emitter().instruction("wgmma.wait_group.sync.aligned", Integer.toString(pending));
    }

    /**
     * {@code d = (accumulate ? d : 0) + A B} with A and B in shared memory ({@code k16}, f32 accumulators). A is
     * K-major; {@code transposeB} marks an MN-major B.
     */
    default <P extends PackedHalf2> void wgmma(WarpgroupAccumulator d, HalfType<P> type, MatrixDescriptor a,
                                               MatrixDescriptor b, boolean accumulate, boolean transposeB) {
        emitter().instruction(opcode(d, type.ptx()), d.regs().toArray(Reg[]::new), a.bits(), b.bits(),
                scaleD(accumulate), "1", "1", "0", transposeB ? "1" : "0");
    }

    /**
     * {@code d = (accumulate ? d : 0) + A B} with A from registers (this warp's 16 rows of the 64 x 16 A as an mma
     * A fragment) and B in shared memory; {@code transposeB} marks an MN-major B.
     */
    default <P extends PackedHalf2> void wgmma(WarpgroupAccumulator d, FragmentA<P> a, MatrixDescriptor b,
                                               boolean accumulate, boolean transposeB) {
        emitter().instruction(opcode(d, a.regs().getFirst().elementType()), d.regs().toArray(Reg[]::new),
                a.regs().toArray(Reg[]::new), b.bits(), scaleD(accumulate), "1", "1", transposeB ? "1" : "0");
    }

    private static String opcode(WarpgroupAccumulator d, String type) {
        return "wgmma.mma_async.sync.aligned.m64n" + d.columns() + "k16.f32." + type + "." + type;
    }

    /** The scale-d predicate: false makes the wgmma overwrite d instead of adding to it. */
    private Pred scaleD(boolean accumulate) {
        return ne(var("scaleD", u32(accumulate ? 1 : 0)), u32(0));
    }
}
