package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small F16 model file (written by the tests' own writer) converted to Q8_0: matrices converted, the rest copied. */
class GgufQuantizationTest {
    @TempDir
    Path dir;

    @Test
    void matricesBecomeQ8_0AndNormsAndMetadataAreCopied() throws IOException {
        Random random = new Random(11);
        float[] matrix = new float[64 * 5];
        for (int i = 0; i < matrix.length; i++) matrix[i] = (float) random.nextGaussian() * 0.05f;
        float[] norm = {1.5f, -2, 0.25f};
        Path source = new GgufWriter().putString("general.architecture", "llama").putUint32("general.file_type", 1)
                .putUint32("llama.block_count", 6)
                .tensor("blk.0.attn_norm.weight", GgmlType.F32, new long[] {3}, TestQuantizer.encode(GgmlType.F32, norm))
                .tensor("blk.0.attn_q.weight", GgmlType.F16, new long[] {64, 5},
                        TestQuantizer.encode(GgmlType.F16, matrix))
                .write(dir.resolve("f16.gguf"));
        Path target = dir.resolve("q8_0.gguf");
        try (GgufFile in = GgufFile.open(source)) {
            GgufQuantization.write(in, target, GgmlType.Q8_0);
        }
        try (GgufFile in = GgufFile.open(source); GgufFile out = GgufFile.open(target)) {
            assertEquals("llama", out.metadata().requireString("general.architecture"));
            assertEquals(6, out.metadata().requireInt("llama.block_count"));
            assertEquals(7, out.metadata().requireInt("general.file_type"), "llama.cpp's MOSTLY_Q8_0");
            GgufTensorInfo q = out.requireTensor("blk.0.attn_q.weight");
            assertEquals(GgmlType.Q8_0, q.type());
            assertArrayEquals(new long[] {64, 5}, q.ne());
            GgufTensorInfo n = out.requireTensor("blk.0.attn_norm.weight");
            assertEquals(GgmlType.F32, n.type());
            assertArrayEquals(in.rawData(in.requireTensor("blk.0.attn_norm.weight")).toArray(ValueLayout.JAVA_BYTE),
                    out.rawData(n).toArray(ValueLayout.JAVA_BYTE));
            try (Tensor before = in.loadF32(in.requireTensor("blk.0.attn_q.weight")); Tensor after = out.loadF32(q)) {
                for (int row = 0; row < 5; row++) {
                    double absMax = 0;
                    for (int i = 0; i < 64; i++) absMax = Math.max(absMax, Math.abs(before.getFloat(row * 64L + i)));
                    double bound = absMax / 127 * (0.5 + 127 * 0x1p-11) + 1e-7;
                    for (int i = 0; i < 64; i++) {
                        long at = row * 64L + i;
                        double error = Math.abs(after.getFloat(at) - before.getFloat(at));
                        assertTrue(error <= bound, "element " + at + ": " + error + " > " + bound);
                    }
                }
            }
        }
    }

    @Test
    void aTypeWithoutAQuantizerIsRefused() throws IOException {
        Path source = new GgufWriter().write(dir.resolve("empty.gguf"));
        try (GgufFile in = GgufFile.open(source)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> GgufQuantization.write(in, dir.resolve("out.gguf"), GgmlType.Q6_K));
            assertEquals("cannot convert tensors to Q6_K", e.getMessage());
        }
    }
}
