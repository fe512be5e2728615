package io.minference.kernels.dequant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * The device dequantization against its CPU twin, bit for bit, per block type: fresh random blocks (seed printed),
 * a destination poisoned with bf16 NaNs, rows padded beyond the width (the padding must keep its poison), and a row
 * count that leaves the grid-stride loop a partial last round.
 */
@Tag("gpu")
class DequantizeToBf16GpuTest {
    private static final int BF16_POISON = 0x7FC17FC1;
    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    static Stream<Arguments> typesAndShapes() {
        return DequantizeToBf16.TYPES.stream().flatMap(type -> Stream.of(
                Arguments.of(type, 1, 1, 0),
                Arguments.of(type, 37, 4, 8),
                Arguments.of(type, 4099, 16, 0)));
    }

    @ParameterizedTest(name = "{0}: {1} rows of {2} units, {3} padding columns")
    @MethodSource("typesAndShapes")
    void deviceEqualsTheCpuTwinBitForBit(DType type, int rows, int unitsPerRow, int padding) {
        long seed = System.nanoTime();
        long width = (long) unitsPerRow * DequantizeToBf16.unit(type);
        long stride = width + padding;
        String context = type + " seed " + seed + " on " + backend.device().name();
        System.out.println(context);
        MemorySegment blocks = RandomBlocks.of(type, rows, width, new SplittableRandom(seed));
        short[] expected = new short[Math.toIntExact(rows * stride)];
        Arrays.fill(expected, (short) BF16_POISON);
        CpuDequantizeToBf16.dequantize(type, blocks, rows, width, MemorySegment.ofArray(expected), stride);

        try (DeviceBuffer src = backend.context().allocate(blocks.byteSize());
             DeviceBuffer dst = backend.context().allocate(2L * expected.length)) {
            src.copyFromHost(blocks);
            dst.fillInts(BF16_POISON);
            new DequantizeToBf16(type).launch(backend.stream(), src, dst, rows, width, stride);
            backend.stream().synchronize();
            short[] actual = new short[expected.length];
            dst.copyToHost(MemorySegment.ofArray(actual));
            int mismatch = Arrays.mismatch(expected, actual);
            assertEquals(-1, mismatch, () -> context + ": element " + mismatch + " (row " + mismatch / stride
                    + ", column " + mismatch % stride + ") is 0x" + Integer.toHexString(actual[mismatch] & 0xFFFF)
                    + ", the twin's 0x" + Integer.toHexString(expected[mismatch] & 0xFFFF));
        }
    }
}
