package io.minference.runtime.cuda;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("gpu")
class DeviceMemoryGpuTest {
    private static CudaBackend backend;
    private static CudaContext context;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
        context = backend.context();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @Test
    void devicePropertiesAreThoseOfARealGpu() {
        CudaDevice device = backend.device();
        System.out.println("device: " + device + ", " + CudaDriver.availability().reason());
        assertEquals("cuda:0", backend.name());
        assertFalse(device.name().isBlank());
        assertTrue(device.computeMajor() >= 7, device.computeCapability());
        assertTrue(device.multiprocessorCount() > 0);
        assertTrue(device.totalMemoryBytes() > 1L << 30);
        assertEquals(1024, device.maxThreadsPerBlock());
        assertEquals(48 * 1024, device.maxSharedBytesPerBlock());
        assertTrue(device.maxSharedBytesPerBlockOptin() >= device.maxSharedBytesPerBlock());
        assertTrue(device.l2CacheBytes() > 0);
        MemoryInfo memory = context.memoryInfo();
        assertTrue(memory.freeBytes() > 0 && memory.freeBytes() <= memory.totalBytes(), memory.toString());
        assertTrue(memory.totalBytes() <= device.totalMemoryBytes() && memory.totalBytes() > device.totalMemoryBytes() / 2,
                memory + " vs " + device.totalMemoryBytes());
        assertTrue(CudaDriver.availability().driverVersion() >= 11000);
    }

    @Test
    void bytesSurviveARoundTripThroughDeviceMemory() {
        long seed = GpuTests.freshSeed();
        int bytes = 1_000_003;
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        try (Arena arena = Arena.ofConfined();
             DeviceBuffer first = context.allocate(bytes);
             DeviceBuffer second = context.allocate(bytes)) {
            first.fillBytes((byte) 0x5A);
            second.fillBytes((byte) 0xA5);
            MemorySegment source = arena.allocate(bytes);
            source.copyFrom(MemorySegment.ofArray(data));
            first.copyFromHost(source);
            second.copyFrom(first);
            MemorySegment back = arena.allocate(bytes);
            back.fill((byte) 0xC3);
            second.copyToHost(back);
            assertArrayEquals(data, back.toArray(JAVA_BYTE), "seed " + seed);

            byte[] heapBack = new byte[bytes];
            Arrays.fill(heapBack, (byte) 0x3C);
            first.copyToHost(MemorySegment.ofArray(heapBack));
            assertArrayEquals(data, heapBack, "through a heap segment, seed " + seed);

            DeviceBuffer view = first.slice(1000, 5000);
            byte[] part = new byte[5000];
            view.copyToHost(MemorySegment.ofArray(part));
            assertArrayEquals(Arrays.copyOfRange(data, 1000, 6000), part, "slice, seed " + seed);
            view.close();
            assertEquals(data[0], readByte(first, 0), "closing a view leaves its buffer alone");
        }
    }

    @Test
    void asynchronousCopiesThroughPinnedMemory() {
        long seed = GpuTests.freshSeed();
        Random random = new Random(seed);
        int words = (1 << 20) + 7;
        long bytes = 4L * words;
        try (PinnedHostBuffer in = context.allocatePinned(bytes);
             PinnedHostBuffer out = context.allocatePinned(bytes);
             DeviceBuffer first = context.allocate(bytes);
             DeviceBuffer second = context.allocate(bytes);
             CudaStream stream = context.createStream()) {
            for (int i = 0; i < words; i++) in.segment().setAtIndex(JAVA_INT, i, random.nextInt());
            out.segment().fill((byte) 0xEE);
            second.fillIntsAsync(0xDEADBEEF, stream);
            first.copyFromHostAsync(in, stream);
            second.copyFromAsync(first, stream);
            second.copyToHostAsync(out, stream);
            stream.synchronize();
            assertEquals(-1, in.segment().mismatch(out.segment()), "seed " + seed);
        }
    }

    @Test
    void memsetsFillEveryWordAndByte() {
        int words = 12_345;
        try (DeviceBuffer buffer = context.allocate(4L * words)) {
            int[] back = new int[words];
            buffer.fillInts(0x12345678);
            buffer.copyToHost(MemorySegment.ofArray(back));
            assertTrue(Arrays.stream(back).allMatch(v -> v == 0x12345678));
            buffer.fillBytes((byte) 0x7F);
            buffer.copyToHost(MemorySegment.ofArray(back));
            assertTrue(Arrays.stream(back).allMatch(v -> v == 0x7F7F7F7F));
        }
    }

    @Test
    void deviceTensorsKeepDtypeShapeAndData() {
        long seed = GpuTests.freshSeed();
        float[] values = GpuTests.randomFloats(new Random(seed), 37 * 53);
        try (Tensor host = Tensor.ofFloats(values, 37, 53);
             DeviceTensor device = DeviceTensor.upload(context, host);
             Tensor back = device.download()) {
            assertEquals(DType.F32, device.dtype());
            assertArrayEquals(new long[] {37, 53}, device.shape());
            assertEquals(37L * 53 * 4, device.byteSize());
            assertArrayEquals(values, back.toFloatArray(), "seed " + seed);
            try (Tensor wrong = Tensor.allocate(DType.F32, 53, 37)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> device.copyTo(wrong));
                assertTrue(e.getMessage().contains("does not match"), e.getMessage());
            }
        }
    }

    @Test
    void tenThousandAllocationCyclesLeakNothing() {
        Random random = new Random(GpuTests.freshSeed());
        try (DeviceBuffer warm = context.allocate(1 << 20)) {
            warm.fillBytes((byte) 1); // the allocator's own first-use bookkeeping is not a leak
        }
        context.synchronize();
        long liveBefore = context.liveAllocations();
        long freeBefore = context.memoryInfo().freeBytes();
        for (int i = 0; i < 10_000; i++) {
            try (DeviceBuffer buffer = context.allocate(1 + random.nextInt(4 << 20))) {
                if (i % 1000 == 0) buffer.fillBytes((byte) i);
            }
        }
        context.synchronize();
        long freeAfter = context.memoryInfo().freeBytes();
        assertEquals(liveBefore, context.liveAllocations());
        // 10,000 leaked buffers would hold about 20 GB; allow the driver a few MiB of its own
        assertTrue(Math.abs(freeBefore - freeAfter) <= 4L << 20,
                "free device memory went from " + freeBefore + " to " + freeAfter + " bytes");
        System.out.println("alloc/free x10000: free memory before " + freeBefore + ", after " + freeAfter);
    }

    @Test
    void closedBuffersRefuseUseAndCloseTwiceQuietly() {
        DeviceBuffer buffer = context.allocate(256);
        buffer.close();
        buffer.close();
        assertThrows(IllegalStateException.class, buffer::address);
    }

    @Test
    void anImpossibleAllocationNamesTheCallAndTheError() {
        CudaException e = assertThrows(CudaException.class, () -> context.allocate(1L << 50));
        assertEquals("cuMemAlloc_v2", e.call());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
    }

    @Test
    void eventsTimeDeviceWork() {
        long bytes = 256L << 20;
        try (DeviceBuffer source = context.allocate(bytes);
             DeviceBuffer destination = context.allocate(bytes);
             CudaStream stream = context.createStream();
             CudaEvent start = context.createEvent();
             CudaEvent middle = context.createEvent();
             CudaEvent end = context.createEvent()) {
            source.fillIntsAsync(0x3F800001, stream);
            destination.copyFromAsync(source, stream); // warm-up
            start.record(stream);
            destination.copyFromAsync(source, stream);
            middle.record(stream);
            for (int i = 0; i < 4; i++) destination.copyFromAsync(source, stream);
            end.record(stream);
            float one = middle.elapsedMillisSince(start);
            float four = end.elapsedMillisSince(middle);
            System.out.printf("events: one 256 MiB copy %.3f ms, four %.3f ms%n", one, four);
            assertTrue(one > 0, "one copy took " + one + " ms");
            assertTrue(four > 2 * one && four < 8 * one, "one copy " + one + " ms, four copies " + four + " ms");
        }
    }

    private static byte readByte(DeviceBuffer buffer, long offset) {
        byte[] one = new byte[1];
        buffer.slice(offset, 1).copyToHost(MemorySegment.ofArray(one));
        return one[0];
    }
}
