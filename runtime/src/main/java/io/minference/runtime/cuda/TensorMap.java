package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A TMA tensor map ({@code CUtensorMap}): how the copy engine sees a bf16 tensor in device memory, encoded on the
 * host by {@code cuTensorMapEncodeTiled} and passed to a kernel by value, as the 128-byte, 64-byte-aligned
 * parameter {@code io.minference.ptx.KernelParam#TENSOR_MAP} declares. Dimensions, strides and the box are listed
 * innermost first, as the driver takes them; the rows of a box land in shared memory one after another, and with
 * {@link Swizzle#BYTES_128} each row of 128 bytes has its 16-byte chunks XOR-ed with the row index mod 8, the layout
 * wgmma's 128-byte-swizzled descriptors read. Elements of a box outside the tensor read as zero.
 * <p>The map records the device address: encode a new one when the tensor moves. Encoding is a host-side call of
 * a few microseconds.
 * <p>The shape rules, checked before the driver is called: rank 1 to 5; dimensions 1..2^32; byte strides of
 * dimensions 1..rank-1 positive multiples of 16 below 2^40; box sizes 1..256, the innermost a multiple of 16 bytes
 * and, when swizzled, at most the swizzle span.
 */
public final class TensorMap {
    /** Bytes of an encoded map. */
    public static final int BYTES = 128;
    private static final int BFLOAT16 = 9;
    private static final int ELEMENT_BYTES = 2;

    /** How TMA lays a box out in shared memory. */
    public enum Swizzle {
        NONE(0, 0), BYTES_32(1, 32), BYTES_64(2, 64), BYTES_128(3, 128);

        private final int code;
        private final int span;

        Swizzle(int code, int span) {
            this.code = code;
            this.span = span;
        }
    }

    private final long[] dimensions;
    private final long[] byteStrides;
    private final int[] box;
    private final Swizzle swizzle;
    private final byte[] bytes;

    TensorMap(long[] dimensions, long[] byteStrides, int[] box, Swizzle swizzle, byte[] bytes) {
        this.dimensions = dimensions.clone();
        this.byteStrides = byteStrides.clone();
        this.box = box.clone();
        this.swizzle = swizzle;
        this.bytes = bytes;
    }

    /**
     * Encodes the map of the bf16 tensor at {@code address}, after checking the shape against the driver's rules
     * so that a mistake reads as the rule it broke rather than as CUDA_ERROR_INVALID_VALUE.
     */
    public static TensorMap bf16(CudaDriver driver, DevicePointer address, long[] dimensions, long[] byteStrides,
                                 int[] box, Swizzle swizzle) {
        check(address.address(), dimensions, byteStrides, box, swizzle);
        int rank = dimensions.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(BYTES, 64);
            MemorySegment dims = arena.allocateFrom(JAVA_LONG, dimensions);
            MemorySegment strides = arena.allocateFrom(JAVA_LONG, rank > 1 ? byteStrides : new long[] {0});
            MemorySegment boxDims = arena.allocateFrom(JAVA_INT, box);
            int[] ones = new int[rank];
            Arrays.fill(ones, 1);
            MemorySegment elementStrides = arena.allocateFrom(JAVA_INT, ones);
            driver.encodeTensorMapTiled(map, BFLOAT16, rank, address.address(), dims, strides, boxDims,
                    elementStrides, swizzle.code, describe(dimensions, byteStrides, box, swizzle));
            return new TensorMap(dimensions, byteStrides, box, swizzle, map.toArray(JAVA_BYTE));
        }
    }

    /**
     * The view the attention kernels take of a token-major {@code [rows, heads, width]} bf16 tensor (Q, the KV
     * cache, O): dims {@code {width, heads, rows}}, a box of 64 elements of one head over {@code boxRows} rows, with
     * 128-byte swizzling, so that a copy at {@code {64 b, head, row}} fills column block b of a swizzled tile.
     */
    public static TensorMap headRows(CudaDriver driver, DevicePointer address, long rows, int heads, int width,
                                     int boxRows) {
        Shape shape = Shape.headRows(rows, heads, width, boxRows);
        return bf16(driver, address, shape.dimensions(), shape.byteStrides(), shape.box(), shape.swizzle());
    }

    /**
     * What a bf16 map describes, before the driver encodes it: what {@link #headRows} encodes, and what the PTX
     * emulator of the kernels' tests reads a TMA copy by.
     *
     * @param dimensions  elements per dimension, innermost first
     * @param byteStrides bytes between consecutive indices of dimensions 1 and up
     * @param box         elements per dimension of one copy
     * @param swizzle     how the copy lays the box out in shared memory
     */
    public record Shape(long[] dimensions, long[] byteStrides, int[] box, Swizzle swizzle) {
        /** {@link #headRows}'s view of a token-major {@code [rows, heads, width]} tensor. */
        public static Shape headRows(long rows, int heads, int width, int boxRows) {
            long rowBytes = 2L * width;
            return new Shape(new long[] {width, heads, rows}, new long[] {rowBytes, rowBytes * heads},
                    new int[] {64, 1, boxRows}, Swizzle.BYTES_128);
        }
    }

    static void check(long address, long[] dimensions, long[] byteStrides, int[] box, Swizzle swizzle) {
        int rank = dimensions.length;
        String shape = describe(dimensions, byteStrides, box, swizzle);
        if (rank < 1 || rank > 5) {
            throw new IllegalArgumentException("a tensor map has rank 1 to 5, got " + rank + ": " + shape);
        }
        if (byteStrides.length != rank - 1 || box.length != rank) {
            throw new IllegalArgumentException("a rank-" + rank + " map needs " + (rank - 1) + " strides and " + rank
                    + " box sizes: " + shape);
        }
        if (address % 16 != 0) {
            throw new IllegalArgumentException("TMA needs a 16-byte-aligned tensor address, got 0x"
                    + Long.toHexString(address));
        }
        for (int i = 0; i < rank; i++) {
            if (dimensions[i] < 1 || dimensions[i] > 1L << 32) {
                throw new IllegalArgumentException("dimension " + i + " must be 1..2^32, got " + dimensions[i] + ": "
                        + shape);
            }
            if (box[i] < 1 || box[i] > 256) {
                throw new IllegalArgumentException("box size " + i + " must be 1..256, got " + box[i] + ": " + shape);
            }
        }
        for (int i = 0; i < rank - 1; i++) {
            if (byteStrides[i] % 16 != 0 || byteStrides[i] <= 0 || byteStrides[i] >= 1L << 40) {
                throw new IllegalArgumentException("byte stride " + (i + 1) + " must be a positive multiple of 16 below"
                        + " 2^40, got " + byteStrides[i] + ": " + shape);
            }
        }
        if ((box[0] * ELEMENT_BYTES) % 16 != 0) {
            throw new IllegalArgumentException("the box's inner size must be a multiple of 16 bytes: " + shape);
        }
        if (swizzle != Swizzle.NONE && box[0] * ELEMENT_BYTES > swizzle.span) {
            throw new IllegalArgumentException("with " + swizzle + " the box's inner size may be at most "
                    + swizzle.span + " bytes: " + shape);
        }
    }

    private static String describe(long[] dimensions, long[] byteStrides, int[] box, Swizzle swizzle) {
        return "bf16 dims " + Arrays.toString(dimensions) + ", byte strides " + Arrays.toString(byteStrides)
                + ", box " + Arrays.toString(box) + ", swizzle " + swizzle;
    }

    /** The encoded bytes, as the launcher copies them into the kernel's parameter buffer. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Bytes one copy of the box moves: what a barrier's expected transaction count adds up. */
    public int boxBytes() {
        long elements = 1;
        for (int b : box) {
            elements *= b;
        }
        return (int) (elements * ELEMENT_BYTES);
    }

    @Override
    public String toString() {
        return "TensorMap[" + describe(dimensions, byteStrides, box, swizzle) + "]";
    }
}
