package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.gguf.GgufWriter.ArrayValue;
import io.minference.llama.load.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metadata of every value type, scalar and array, read back as written. */
class GgufMetadataTest {
    @TempDir
    Path dir;

    @Test
    void everyValueTypeReadsBack() throws IOException {
        Path file = new GgufWriter()
                .put("u8", GgufType.UINT8, 250L)
                .put("i8", GgufType.INT8, -100L)
                .put("u16", GgufType.UINT16, 65000L)
                .put("i16", GgufType.INT16, -30000L)
                .put("u32", GgufType.UINT32, 4_000_000_000L)
                .put("i32", GgufType.INT32, -2_000_000_000L)
                .put("f32", GgufType.FLOAT32, 1e-5)
                .put("bool", GgufType.BOOL, true)
                .put("string", GgufType.STRING, "Ishmael ✓")
                .put("u64", GgufType.UINT64, -1L)
                .put("i64", GgufType.INT64, Long.MIN_VALUE)
                .put("f64", GgufType.FLOAT64, Math.PI)
                .put("strings", GgufType.ARRAY, new ArrayValue(GgufType.STRING, List.of("Ġt", "he", "")))
                .put("ints", GgufType.ARRAY, new ArrayValue(GgufType.INT32, List.of(3L, -1L, 6L)))
                .put("bytes", GgufType.ARRAY, new ArrayValue(GgufType.UINT8, List.of(0L, 255L)))
                .put("shorts", GgufType.ARRAY, new ArrayValue(GgufType.INT16, List.of(-5L, 7L)))
                .put("u32s", GgufType.ARRAY, new ArrayValue(GgufType.UINT32, List.of(4_000_000_000L)))
                .put("longs", GgufType.ARRAY, new ArrayValue(GgufType.INT64, List.of(1L << 40)))
                .put("floats", GgufType.ARRAY, new ArrayValue(GgufType.FLOAT32, List.of(0.5, -2.0)))
                .put("doubles", GgufType.ARRAY, new ArrayValue(GgufType.FLOAT64, List.of(Math.E)))
                .put("bools", GgufType.ARRAY, new ArrayValue(GgufType.BOOL, List.of(true, false)))
                .put("empty", GgufType.ARRAY, new ArrayValue(GgufType.FLOAT32, List.of()))
                .put("nested", GgufType.ARRAY, new ArrayValue(GgufType.ARRAY, List.of(
                        new ArrayValue(GgufType.INT8, List.of(-1L, 2L)),
                        new ArrayValue(GgufType.STRING, List.of("x")))))
                .write(dir.resolve("meta.gguf"));

        try (GgufFile gguf = GgufFile.open(file)) {
            GgufMetadata m = gguf.metadata();
            assertEquals(23, m.keys().size());
            assertEquals(List.copyOf(m.keys()).getFirst(), "u8");
            assertEquals(250, m.requireInt("u8"));
            assertEquals(-100, m.requireInt("i8"));
            assertEquals(65000, m.requireInt("u16"));
            assertEquals(-30000, m.requireInt("i16"));
            assertEquals(4_000_000_000L, m.requireLong("u32"));
            assertEquals(-2_000_000_000, m.requireInt("i32"));
            assertEquals(1e-5f, m.requireFloat("f32"));
            assertTrue(m.requireBool("bool"));
            assertEquals("Ishmael ✓", m.requireString("string"));
            assertEquals(new GgufValue.Int(GgufType.UINT64, -1L), m.get("u64").orElseThrow());
            assertEquals(Long.MIN_VALUE, m.requireLong("i64"));
            assertEquals(Math.PI, m.requireDouble("f64"));
            for (String key : List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64")) {
                assertEquals(GgufType.valueOf(key.replace("u", "UINT").replace("i", "INT")),
                        m.get(key).orElseThrow().type(), key);
            }
            assertEquals(GgufType.FLOAT32, m.get("f32").orElseThrow().type());
            assertEquals(GgufType.FLOAT64, m.get("f64").orElseThrow().type());

            assertEquals(List.of("Ġt", "he", ""), m.requireStringArray("strings"));
            assertArrayEquals(new int[] {3, -1, 6}, m.requireIntArray("ints"));
            assertArrayEquals(new int[] {0, 255}, m.requireIntArray("bytes"));
            assertArrayEquals(new int[] {-5, 7}, m.requireIntArray("shorts"));
            assertEquals(4_000_000_000L, m.requireArray("u32s").longAt(0));
            assertEquals(1L << 40, m.requireArray("longs").longAt(0));
            assertArrayEquals(new float[] {0.5f, -2f}, m.requireFloatArray("floats"));
            assertEquals(Math.E, m.requireArray("doubles").doubleAt(0));
            GgufValue.Array bools = m.requireArray("bools");
            assertEquals(GgufType.BOOL, bools.elementType());
            assertTrue(bools.booleanAt(0));
            assertFalse(bools.booleanAt(1));
            assertEquals(0, m.requireArray("empty").length());
            GgufValue.Array nested = m.requireArray("nested");
            assertEquals(GgufType.ARRAY, nested.elementType());
            assertEquals(-1, nested.arrayAt(0).longAt(0));
            assertEquals(2, nested.arrayAt(0).longAt(1));
            assertEquals("x", nested.arrayAt(1).stringAt(0));
            assertInstanceOf(GgufValue.Text.class, m.get("string").orElseThrow());
        }
    }

    @Test
    void defaultsApplyOnlyToAbsentKeys() throws IOException {
        Path file = new GgufWriter().putUint32("present", 7).putFloat32("rate", 0.25).write(dir.resolve("d.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufMetadata m = gguf.metadata();
            assertEquals(7, m.intOr("present", 3));
            assertEquals(3, m.intOr("absent", 3));
            assertEquals(0.25f, m.floatOr("rate", 1f));
            assertEquals(10000f, m.floatOr("absent", 10000f));
            assertEquals(GgufFile.DEFAULT_ALIGNMENT, gguf.alignment());
            assertTrue(m.string("absent").isEmpty());
        }
    }

    @Test
    void oversizedIntegersFailClearly() throws IOException {
        Path file = new GgufWriter().put("big", GgufType.UINT64, 1L << 40).write(dir.resolve("big.gguf"));
        try (GgufFile gguf = GgufFile.open(file)) {
            var e = assertThrows(ModelFormatException.class, () -> gguf.metadata().requireInt("big"));
            assertTrue(e.getMessage().contains("'big' = 1099511627776 does not fit in an int"), e.getMessage());
        }
    }
}
