package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Device memory owned by a Java object: freed by {@link #close()}, deterministically. A slice is a view that frees
 * nothing. The methods without a stream are synchronous: they return once the device memory holds the result, so
 * work queued afterwards on any stream sees it (the driver would otherwise leave memsets, device copies and the
 * tail of host-to-device copies pending on the legacy stream, which non-blocking streams do not wait for); they do
 * not wait for work queued on a {@link CudaStream}, so synchronize that stream before reading its results. The
 * methods with a stream queue on it; host memory there is pinned, which they need to be asynchronous and to be
 * captured into a graph.
 */
public final class DeviceBuffer implements DevicePointer, AutoCloseable {
    private final CudaContext context;
    private final long address;
    private final long byteSize;
    private final boolean owner;
    private boolean closed;

    DeviceBuffer(CudaContext context, long address, long byteSize, boolean owner) {
        this.context = context;
        this.address = address;
        this.byteSize = byteSize;
        this.owner = owner;
    }

    public CudaContext context() {
        return context;
    }

    @Override
    public long address() {
        if (closed) throw new IllegalStateException("device buffer of " + byteSize + " bytes used after close");
        return address;
    }

    public long byteSize() {
        return byteSize;
    }

    /** A view of {@code length} bytes from {@code offset}; valid while this buffer is open. */
    public DeviceBuffer slice(long offset, long length) {
        if (offset < 0 || length <= 0 || offset + length > byteSize) {
            throw new IndexOutOfBoundsException("slice [" + offset + ", " + (offset + length) + ") of a buffer of "
                    + byteSize + " bytes");
        }
        return new DeviceBuffer(context, address() + offset, length, false);
    }

    /** Copies {@code source} (host memory of at most this buffer's size) to the start of this buffer and waits. */
    public void copyFromHost(MemorySegment source) {
        requireFits(source.byteSize(), "host source");
        context.makeCurrent();
        if (source.isNative()) {
            context.driver().memcpyHtoD(address(), source, source.byteSize());
            awaitLegacyStream();
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment staging = arena.allocate(source.byteSize(), 16);
                staging.copyFrom(source);
                context.driver().memcpyHtoD(address(), staging, source.byteSize());
                awaitLegacyStream();
            }
        }
    }

    /** Copies the start of this buffer into {@code destination} (host memory) and waits. */
    public void copyToHost(MemorySegment destination) {
        requireFits(destination.byteSize(), "host destination");
        context.makeCurrent();
        if (destination.isNative()) {
            context.driver().memcpyDtoH(destination, address(), destination.byteSize());
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment staging = arena.allocate(destination.byteSize(), 16);
                context.driver().memcpyDtoH(staging, address(), destination.byteSize());
                destination.copyFrom(staging);
            }
        }
    }

    /** Copies all of {@code source} (device memory) into the start of this buffer. */
    public void copyFrom(DeviceBuffer source) {
        requireFits(source.byteSize(), "device source");
        context.makeCurrent();
        context.driver().memcpyDtoD(address(), source.address(), source.byteSize());
        awaitLegacyStream();
    }

    public void copyFromAsync(DeviceBuffer source, CudaStream stream) {
        requireFits(source.byteSize(), "device source");
        context.makeCurrent();
        context.driver().memcpyDtoDAsync(address(), source.address(), source.byteSize(), stream.handle());
    }

    public void copyFromHostAsync(PinnedHostBuffer source, CudaStream stream) {
        requireFits(source.byteSize(), "pinned source");
        context.makeCurrent();
        context.driver().memcpyHtoDAsync(address(), source.segment(), source.byteSize(), stream.handle());
    }

    public void copyToHostAsync(PinnedHostBuffer destination, CudaStream stream) {
        requireFits(destination.byteSize(), "pinned destination");
        context.makeCurrent();
        context.driver().memcpyDtoHAsync(destination.segment(), address(), destination.byteSize(), stream.handle());
    }

    /**
     * Queues a copy of {@code bytes} from {@code source} (pinned host memory) at {@code sourceOffset} to this buffer
     * at {@code offset}; the host returns at once and must leave the source alone until the stream gets there.
     */
    public void copyFromHostAsync(PinnedHostBuffer source, long sourceOffset, long offset, long bytes,
                                  CudaStream stream) {
        if (bytes == 0) return;
        MemorySegment from = source.segment().asSlice(sourceOffset, bytes);
        DeviceBuffer to = slice(offset, bytes);
        context.makeCurrent();
        context.driver().memcpyHtoDAsync(to.address(), from, bytes, stream.handle());
    }

    /** Queues a copy of {@code bytes} of this buffer at {@code offset} into {@code destination} at its offset. */
    public void copyToHostAsync(PinnedHostBuffer destination, long destinationOffset, long offset, long bytes,
                                CudaStream stream) {
        if (bytes == 0) return;
        MemorySegment to = destination.segment().asSlice(destinationOffset, bytes);
        DeviceBuffer from = slice(offset, bytes);
        context.makeCurrent();
        context.driver().memcpyDtoHAsync(to, from.address(), bytes, stream.handle());
    }

    /** Sets every byte to {@code value}. */
    public void fillBytes(byte value) {
        context.makeCurrent();
        context.driver().memsetD8(address(), value, byteSize);
        awaitLegacyStream();
    }

    /** Sets every 32-bit word to {@code value}; the size must be a multiple of 4. */
    public void fillInts(int value) {
        context.makeCurrent();
        context.driver().memsetD32(address(), value, wordCount());
        awaitLegacyStream();
    }

    private void awaitLegacyStream() {
        context.driver().streamSynchronize(MemorySegment.NULL);
    }

    public void fillIntsAsync(int value, CudaStream stream) {
        context.makeCurrent();
        context.driver().memsetD32Async(address(), value, wordCount(), stream.handle());
    }

    private long wordCount() {
        if (byteSize % 4 != 0) throw new IllegalStateException("a 32-bit fill needs a multiple of 4 bytes, got " + byteSize);
        return byteSize / 4;
    }

    private void requireFits(long bytes, String what) {
        if (bytes > byteSize) {
            throw new IllegalArgumentException(what + " of " + bytes + " bytes does not fit a device buffer of "
                    + byteSize + " bytes");
        }
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        // a context closed first has already released the memory with the context itself
        if (owner && !context.isClosed()) context.released(address);
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + byteSize + " bytes at 0x" + Long.toHexString(address) + (owner ? "" : ", view") + "]";
    }
}
