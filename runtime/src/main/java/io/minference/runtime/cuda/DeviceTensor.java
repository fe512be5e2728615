package io.minference.runtime.cuda;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;

import java.util.Arrays;

/**
 * A tensor in device memory: a dtype, a row-major shape (last dimension fastest), long-indexed, over a
 * {@link DeviceBuffer} that it owns and frees on {@link #close()}.
 */
public final class DeviceTensor implements DevicePointer, AutoCloseable {
    private final DType dtype;
    private final long[] shape;
    private final DeviceBuffer buffer;

    private DeviceTensor(DType dtype, long[] shape, DeviceBuffer buffer) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.buffer = buffer;
    }

    /** Allocates an uninitialised device tensor. */
    public static DeviceTensor allocate(CudaContext context, DType dtype, long... shape) {
        long bytes = dtype.byteSize(Tensor.elementCount(shape));
        return new DeviceTensor(dtype, shape, context.allocate(Math.max(1, bytes)));
    }

    /** A device copy of a host tensor. */
    public static DeviceTensor upload(CudaContext context, Tensor host) {
        DeviceTensor tensor = allocate(context, host.dtype(), host.shape());
        try {
            tensor.copyFrom(host);
        } catch (RuntimeException e) {
            tensor.close();
            throw e;
        }
        return tensor;
    }

    /**
     * A view of this tensor's elements from {@code offset} (in elements) with the given shape: it frees nothing on
     * close and is valid while this tensor is open. Used to hand the first rows of a buffer to a GEMM.
     */
    public DeviceTensor view(long offset, long... viewShape) {
        long bytes = Math.multiplyExact(Tensor.elementCount(viewShape), dtype.byteSize());
        if (offset < 0 || bytes <= 0 || offset * dtype.byteSize() + bytes > byteSize()) {
            throw new IndexOutOfBoundsException("view of " + Arrays.toString(viewShape) + " at element " + offset
                    + " lies outside " + this);
        }
        return new DeviceTensor(dtype, viewShape, buffer.slice(offset * dtype.byteSize(), bytes));
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
        return Tensor.elementCount(shape);
    }

    public long byteSize() {
        return dtype.byteSize(elementCount());
    }

    public DeviceBuffer buffer() {
        return buffer;
    }

    @Override
    public long address() {
        return buffer.address();
    }

    /** Copies a host tensor of the same dtype and shape into this one. */
    public void copyFrom(Tensor host) {
        requireSameLayout(host);
        buffer.copyFromHost(host.data().asSlice(0, byteSize()));
    }

    /** Copies this tensor into a host tensor of the same dtype and shape. */
    public void copyTo(Tensor host) {
        requireSameLayout(host);
        buffer.copyToHost(host.data().asSlice(0, byteSize()));
    }

    /** A new host tensor holding a copy of this one. */
    public Tensor download() {
        Tensor host = Tensor.allocate(dtype, shape);
        copyTo(host);
        return host;
    }

    private void requireSameLayout(Tensor host) {
        if (host.dtype() != dtype || !Arrays.equals(host.shape(), shape)) {
            throw new IllegalArgumentException("host " + host + " does not match device tensor " + this);
        }
    }

    @Override
    public void close() {
        buffer.close();
    }

    @Override
    public String toString() {
        return "DeviceTensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
