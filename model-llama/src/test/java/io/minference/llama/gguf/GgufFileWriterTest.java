package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public writer against the reader: every kind of metadata value and tensors of several types come back as
 * written, at aligned offsets; a failed write leaves no file behind.
 */
class GgufFileWriterTest {
    @TempDir
    Path dir;

    /** Metadata of every value type, arrays of strings, integers, floats and arrays included, read from a file. */
    private Map<String, GgufValue> everyKindOfValue() throws IOException {
        var nested = new GgufWriter.ArrayValue(GgufType.ARRAY, List.of(
                new GgufWriter.ArrayValue(GgufType.INT16, List.of(-3L, 4L)),
                new GgufWriter.ArrayValue(GgufType.INT16, List.of(5L))));
        Path file = new GgufWriter()
                .put("u8", GgufType.UINT8, 200L).put("i8", GgufType.INT8, -5L)
                .put("u16", GgufType.UINT16, 60000L).put("i16", GgufType.INT16, -300L)
                .put("u32", GgufType.UINT32, 4_000_000_000L).put("i32", GgufType.INT32, -70000L)
                .put("u64", GgufType.UINT64, -1L).put("i64", GgufType.INT64, -(1L << 40))
                .put("f32", GgufType.FLOAT32, 0.1).put("f64", GgufType.FLOAT64, Math.PI)
                .put("yes", GgufType.BOOL, true).putString("name", "tiny ✓")
                .put("tokens", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.STRING, List.of("a", "Ġb", "")))
                .put("ids", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.UINT32, List.of(0L, 4_000_000_000L)))
                .put("scores", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.FLOAT32, List.of(-1.5, 2.25)))
                .put("flags", GgufType.ARRAY, new GgufWriter.ArrayValue(GgufType.BOOL, List.of(true, false)))
                .put("nested", GgufType.ARRAY, nested)
                .write(dir.resolve("metadata.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            return gguf.metadata().asMap();
        }
    }

    @Test
    void metadataAndTensorsReadBackAsWritten() throws IOException {
        Map<String, GgufValue> metadata = everyKindOfValue();
        Random random = new Random(7);
        float[] matrix = new float[64 * 3];
        for (int i = 0; i < matrix.length; i++) matrix[i] = (float) random.nextGaussian();
        byte[] q8 = TestQuantizer.encode(GgmlType.Q8_0, matrix);
        byte[] norm = TestQuantizer.encode(GgmlType.F32, new float[] {1, 2, 3});
        Path file = dir.resolve("written.gguf");
        new GgufFileWriter().putAll(metadata).put("general.alignment", new GgufValue.Int(GgufType.UINT32, 64))
                .tensor("norm", GgmlType.F32, new long[] {3}, data -> data.copyFrom(MemorySegment.ofArray(norm)))
                .tensor("matrix", GgmlType.Q8_0, new long[] {64, 3}, data -> data.copyFrom(MemorySegment.ofArray(q8)))
                .write(file);

        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(3, gguf.version());
            assertEquals(64, gguf.alignment());
            for (var entry : metadata.entrySet()) {
                assertEquals(entry.getValue().toString(), gguf.metadata().asMap().get(entry.getKey()).toString(),
                        entry.getKey());
            }
            assertEquals(-1L, ((GgufValue.Int) gguf.metadata().get("u64").orElseThrow()).value());
            assertEquals(List.of("a", "Ġb", ""), gguf.metadata().requireStringArray("tokens"));
            assertEquals(5, gguf.metadata().requireArray("nested").arrayAt(1).longAt(0));
            assertEquals(List.of("norm", "matrix"), gguf.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo info : gguf.tensors()) assertEquals(0, info.dataOffset() % 64, info.name());
            assertEquals(0, gguf.dataOffset() % 64);
            assertArrayEquals(q8, gguf.rawData(gguf.requireTensor("matrix")).toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(norm, gguf.rawData(gguf.requireTensor("norm")).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(gguf.dataOffset() + gguf.requireTensor("matrix").dataOffset() + q8.length, gguf.fileSize());
        }
    }

    @Test
    void aFailedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        Path file = Files.writeString(dir.resolve("model.gguf"), "the old file");
        GgufFileWriter writer = new GgufFileWriter().tensor("t", GgmlType.F32, new long[] {4}, data -> {
            throw new IllegalStateException("no data");
        });
        assertThrows(IllegalStateException.class, () -> writer.write(file));
        assertEquals("the old file", Files.readString(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void badTensorDeclarationsAreRefused() {
        GgufFileWriter writer = new GgufFileWriter().tensor("t", GgmlType.F32, new long[] {4}, data -> { });
        var duplicate = assertThrows(IllegalArgumentException.class,
                () -> writer.tensor("t", GgmlType.F32, new long[] {4}, data -> { }));
        assertTrue(duplicate.getMessage().contains("duplicate tensor 't'"), duplicate.getMessage());
        var rows = assertThrows(IllegalArgumentException.class,
                () -> writer.tensor("q", GgmlType.Q8_0, new long[] {48, 2}, data -> { }));
        assertTrue(rows.getMessage().contains("multiple of 32"), rows.getMessage());
        assertFalse(Files.exists(dir.resolve("t.gguf")));
    }
}
