package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Files written with each supported tensor type read back to the original values, within the type's error. */
class GgufRoundTripTest {
    @TempDir
    Path dir;

    /** Largest error allowed for values uniform on [-1, 1): half a quantization step and some slack for scales. */
    private static double tolerance(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 0x1p-12;
            case BF16 -> 0x1p-9;
            case Q8_0 -> 0.6 / 127;
            case Q4_0 -> 0.6 / 7;
            case Q4_K -> 0.6 * 2 / 15 + 2.0 / 63;
            case Q6_K -> 0.6 / 31 + 1.0 / 127;
            default -> throw new IllegalArgumentException(type.name());
        };
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void tensorsReadBackWithinQuantizationError(GgmlType type) throws IOException {
        Random random = new Random(type.ordinal());
        float[] first = uniform(random, 512 * 3);
        float[] second = uniform(random, 256 * 2);
        float[] norm = uniform(random, 7);
        Path file = new GgufWriter()
                .alignment(64)
                .tensor("norm", GgmlType.F32, new long[] {7}, TestQuantizer.encode(GgmlType.F32, norm))
                .tensor("first", type, new long[] {512, 3}, TestQuantizer.encode(type, first))
                .tensor("second", type, new long[] {256, 2}, TestQuantizer.encode(type, second))
                .write(dir.resolve("round-trip.gguf"));

        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(64, gguf.alignment());
            assertEquals(0, gguf.dataOffset() % 64);
            assertEquals(List.of("norm", "first", "second"), gguf.tensors().stream().map(GgufTensorInfo::name).toList());
            GgufTensorInfo info = gguf.requireTensor("first");
            assertEquals(type, info.type());
            assertArrayEquals(new long[] {3, 512}, info.shape());
            assertEquals(type.byteSize(512 * 3), info.byteSize());
            assertClose(first, gguf, "first", tolerance(type));
            assertClose(second, gguf, "second", tolerance(type));
            assertClose(norm, gguf, "norm", 0);
        }
    }

    @Test
    void f16AndBf16ConvertExactly() throws IOException {
        float[] values = {0f, -0f, 1f, -2.5f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY, 0.333251953125f};
        float[] bf16Values = {0f, 1f, -2.5f, 3.0e38f, 0x1p-133f, 1.0078125f, -1024f, Float.NEGATIVE_INFINITY};
        Path file = new GgufWriter()
                .tensor("half", GgmlType.F16, new long[] {8}, TestQuantizer.encode(GgmlType.F16, values))
                .tensor("brain", GgmlType.BF16, new long[] {8}, TestQuantizer.encode(GgmlType.BF16, bf16Values))
                .write(dir.resolve("halves.gguf"));
        try (GgufFile gguf = GgufFile.open(file);
             Tensor half = gguf.loadF32(gguf.requireTensor("half"));
             Tensor brain = gguf.loadF32(gguf.requireTensor("brain"))) {
            assertArrayEquals(values, half.toFloatArray());
            float[] expectedBf16 = bf16Values.clone();
            expectedBf16[3] = Float.intBitsToFloat(Float.floatToRawIntBits(3.0e38f) + 0x8000 & 0xFFFF0000);
            assertArrayEquals(expectedBf16, brain.toFloatArray());
        }
    }

    @Test
    void largeTensorConvertsInParallelChunksInOrder() throws IOException {
        int n = 256 * 1024 + 256 * 3;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (i % 1000) / 1000f - 0.5f;
        Path file = new GgufWriter()
                .tensor("big", GgmlType.Q8_0, new long[] {n}, TestQuantizer.encode(GgmlType.Q8_0, values))
                .write(dir.resolve("big.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertClose(values, gguf, "big", tolerance(GgmlType.Q8_0));
        }
    }

    /**
     * A sparse file of 6 GiB whose last tensor lies beyond 4 GiB: offsets and sizes are long-indexed, and only the
     * tensor that is converted is read.
     */
    @Test
    void tensorsBeyondFourGibibytes() throws IOException {
        long hugeElements = 3L << 29;
        long farOffset = hugeElements * 4;
        float[] values = {1.5f, -2f, 3.25f, 0f, 7f, -8.5f, 0.125f, 42f};
        byte[] header = new GgufWriter()
                .tensorInfo("huge", GgmlType.F32.id(), new long[] {hugeElements}, 0)
                .tensorInfo("far", GgmlType.F32.id(), new long[] {8}, farOffset)
                .toBytes();
        Path file = dir.resolve("sparse.gguf");
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(header);
            out.seek(header.length + farOffset);
            out.write(TestQuantizer.encode(GgmlType.F32, values));
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            assertTrue(gguf.fileSize() > 6L << 30);
            assertEquals(header.length, gguf.dataOffset());
            GgufTensorInfo huge = gguf.requireTensor("huge");
            assertEquals(hugeElements * 4, gguf.rawData(huge).byteSize());
            try (Tensor far = gguf.loadF32(gguf.requireTensor("far"))) {
                assertArrayEquals(values, far.toFloatArray());
            }
        }
    }

    private static float[] uniform(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() * 2 - 1;
        return x;
    }

    private static void assertClose(float[] expected, GgufFile gguf, String name, double tolerance) {
        try (Tensor t = gguf.loadF32(gguf.requireTensor(name))) {
            assertEquals(DType.F32, t.dtype());
            assertEquals(expected.length, t.elementCount());
            double worst = 0;
            for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - t.getFloat(i)));
            assertTrue(worst <= tolerance, name + ": largest error " + worst + " exceeds " + tolerance);
        }
    }
}
