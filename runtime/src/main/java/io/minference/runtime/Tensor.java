package io.minference.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A host tensor: a dtype, a shape (row-major, last dimension fastest) and the memory that holds it, indexed by long
 * so that tensors of many gigabytes work. A tensor that allocated its memory frees it on {@link #close()}; a tensor
 * that wraps memory owned elsewhere (a memory-mapped model file, say) leaves it alone.
 */
public final class Tensor implements AutoCloseable {
    private static final ValueLayout.OfFloat F32_LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;
    private final Arena ownedArena;

    private Tensor(DType dtype, long[] shape, MemorySegment data, Arena ownedArena) {
        if (dtype.isBlockType() && (shape.length == 0 || shape[shape.length - 1] % dtype.blockSize() != 0)) {
            throw new IllegalArgumentException("a " + dtype + " tensor's rows must hold whole blocks of "
                    + dtype.blockSize() + " elements, got shape " + Arrays.toString(shape));
        }
        long needed = dtype.byteSize(elementCount(shape));
        if (data.byteSize() < needed) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " and type " + dtype
                    + " needs " + needed + " bytes but its memory holds " + data.byteSize());
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        this.ownedArena = ownedArena;
    }

    /** Allocates zeroed, 64-byte-aligned memory, usable from any thread, freed by {@link #close()}. */
    public static Tensor allocate(DType dtype, long... shape) {
        Arena arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(Math.max(1, dtype.byteSize(elementCount(shape))), 64);
        return new Tensor(dtype, shape, segment, arena);
    }

    /**
     * Allocates 64-byte-aligned memory without zeroing it, for a caller that writes every element itself (a loader
     * filling weights from several threads, say): the large allocation then costs no single-threaded zeroing pass.
     * The contents are undefined until written. Freed by {@link #close()}.
     */
    public static Tensor allocateUninitialized(DType dtype, long... shape) {
        long bytes = dtype.byteSize(elementCount(shape));
        Arena arena = Arena.ofShared();
        try {
            return new Tensor(dtype, shape, UninitializedMemory.allocate(arena, bytes).asSlice(0, Math.max(1, bytes)),
                    arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Wraps memory owned elsewhere; closing the tensor does not free it. */
    public static Tensor wrap(DType dtype, MemorySegment data, long... shape) {
        return new Tensor(dtype, shape, data, null);
    }

    /** An F32 tensor holding a copy of {@code values}. */
    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor t = allocate(DType.F32, shape);
        MemorySegment.copy(values, 0, t.data, F32_LAYOUT, 0, values.length);
        return t;
    }

    public static long elementCount(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    public long elementCount() {
        return elementCount(shape);
    }

    public MemorySegment data() {
        return data;
    }

    /** Bytes the elements take (for a block type, whole blocks). */
    public long byteSize() {
        return dtype.byteSize(elementCount());
    }

    /** Reads element {@code index} of an F32 tensor. */
    public float getFloat(long index) {
        return data.getAtIndex(F32_LAYOUT, index);
    }

    /** Writes element {@code index} of an F32 tensor. */
    public void setFloat(long index, float value) {
        data.setAtIndex(F32_LAYOUT, index, value);
    }

    /** Copies an F32 tensor's elements into a new array; only for tensors under 2^31 elements. */
    public float[] toFloatArray() {
        if (dtype != DType.F32) throw new IllegalStateException("toFloatArray needs F32, this tensor is " + dtype);
        return data.asSlice(0, elementCount() * 4).toArray(ValueLayout.JAVA_FLOAT);
    }

    @Override
    public void close() {
        if (ownedArena != null) ownedArena.close();
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
