package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.minference.runtime.DType;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Blocks built byte by byte, with the expected floats computed here from the format description. Scales are powers
 * of two and quants small integers, so every expected value is exact.
 */
class DequantizerTest {
    private static final short HALF_ONE = 0x3C00;
    private static final short HALF_HALF = 0x3800;
    private static final short HALF_QUARTER = 0x3400;
    private static final short HALF_EIGHTH = 0x3000;

    @Test
    void halfConstantsAreWhatTheTestAssumes() {
        assertEquals(1f, Float.float16ToFloat(HALF_ONE));
        assertEquals(0.5f, Float.float16ToFloat(HALF_HALF));
        assertEquals(0.25f, Float.float16ToFloat(HALF_QUARTER));
        assertEquals(0.125f, Float.float16ToFloat(HALF_EIGHTH));
    }

    @Test
    void q8_0() {
        byte[] block = new byte[34];
        putHalf(block, 0, HALF_HALF);
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) {
            q[i] = i * 8 - 128;
            block[2 + i] = (byte) q[i];
        }
        float[] y = dequantize(GgmlType.Q8_0, block, 32);
        for (int i = 0; i < 32; i++) assertEquals(0.5 * q[i], y[i], "element " + i);
        assertEquals(-64.0, y[0]);
        assertEquals(60.0, y[31]);
    }

    @Test
    void q4_0() {
        byte[] block = new byte[18];
        putHalf(block, 0, HALF_QUARTER);
        for (int j = 0; j < 16; j++) block[2 + j] = (byte) (j | (15 - j) << 4);
        float[] y = dequantize(GgmlType.Q4_0, block, 32);
        for (int j = 0; j < 16; j++) {
            assertEquals(0.25 * (j - 8), y[j], "low nibble " + j);
            assertEquals(0.25 * (15 - j - 8), y[j + 16], "high nibble " + j);
        }
        assertEquals(-2.0, y[0]);
        assertEquals(1.75, y[16]);
    }

    @Test
    void q4_k() {
        byte[] block = kQuantHeader(144);
        for (int run = 0; run < 4; run++) {
            for (int l = 0; l < 32; l++) block[16 + 32 * run + l] = (byte) (low(run, l) | high(run, l) << 4);
        }
        float[] y = dequantize(GgmlType.Q4_K, block, 256);
        for (int run = 0; run < 4; run++) {
            for (int l = 0; l < 32; l++) {
                int e = 64 * run + l;
                assertEquals(1.0 * SCALES[2 * run] * low(run, l) - 0.5 * MINS[2 * run], y[e], "element " + e);
                assertEquals(1.0 * SCALES[2 * run + 1] * high(run, l) - 0.5 * MINS[2 * run + 1], y[e + 32],
                        "element " + (e + 32));
            }
        }
        assertEquals(17.0 * 2 - 0.5 * 32, y[3 * 64 + 32 + 5]);
    }

    private static int low(int run, int l) {
        return (l + run) % 16;
    }

    private static int high(int run, int l) {
        return (3 * l + run) % 16;
    }

    @Test
    void q6_k() {
        int[] scales = new int[16];
        for (int k = 0; k < 16; k++) scales[k] = (k * 37 % 41) - 20;
        int[] q = new int[256];
        for (int e = 0; e < 256; e++) q[e] = (e * 5 + 3) % 64;
        byte[] block = new byte[210];
        // Element e: half h = e/128, quarter g = (e%128)/32, l = e%32. Its low four bits are a nibble of
        // ql[64h + l] (g = 0, 2) or ql[64h + l + 32] (g = 1, 3): the low nibble for g < 2, the high one otherwise.
        // Its top two bits are bits 2g, 2g+1 of qh[32h + l]; its scale is scales[8h + l/16 + 2g].
        for (int e = 0; e < 256; e++) {
            int h = e / 128;
            int g = e % 128 / 32;
            int l = e % 32;
            int ql = 64 * h + l + (g == 1 || g == 3 ? 32 : 0);
            block[ql] |= (byte) ((q[e] & 15) << (g < 2 ? 0 : 4));
            block[128 + 32 * h + l] |= (byte) ((q[e] >> 4) << (2 * g));
        }
        for (int k = 0; k < 16; k++) block[192 + k] = (byte) scales[k];
        putHalf(block, 208, HALF_EIGHTH);
        float[] y = dequantize(GgmlType.Q6_K, block, 256);
        for (int e = 0; e < 256; e++) {
            int h = e / 128;
            int g = e % 128 / 32;
            int l = e % 32;
            double expected = 0.125 * scales[8 * h + l / 16 + 2 * g] * (q[e] - 32);
            assertEquals(expected, y[e], "element " + e);
        }
    }

    @Test
    void twoBlocksInARowAndAnOffsetDestination() {
        byte[] blocks = new byte[68];
        putHalf(blocks, 0, HALF_ONE);
        putHalf(blocks, 34, HALF_EIGHTH);
        for (int i = 0; i < 32; i++) {
            blocks[2 + i] = (byte) i;
            blocks[36 + i] = (byte) -i;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(blocks.length);
            MemorySegment.copy(blocks, 0, src, ValueLayout.JAVA_BYTE, 0, blocks.length);
            MemorySegment dst = arena.allocate(4L * 70);
            BlockDecoder.forType(DType.Q8_0).decode(src, 0, dst, 5, 2);
            for (int i = 0; i < 32; i++) {
                assertEquals(i, dst.getAtIndex(ValueLayout.JAVA_FLOAT, 5 + i));
                assertEquals(0.125 * -i, dst.getAtIndex(ValueLayout.JAVA_FLOAT, 37 + i));
            }
            assertEquals(0f, dst.getAtIndex(ValueLayout.JAVA_FLOAT, 4));
        }
    }

    @Test
    void typesWithoutConversionHaveNoRuntimeType() {
        assertNull(GgmlType.Q3_K.dtype());
        assertNull(GgmlType.IQ2_XXS.dtype());
    }

    @Test
    void q5_0() {
        byte[] block = new byte[22];
        putHalf(block, 0, HALF_HALF);
        int qh = 0xA5C3_0F69;
        for (int i = 0; i < 4; i++) block[2 + i] = (byte) (qh >>> (8 * i));
        for (int j = 0; j < 16; j++) block[6 + j] = (byte) (j | (15 - j) << 4);
        float[] y = dequantize(GgmlType.Q5_0, block, 32);
        for (int j = 0; j < 16; j++) {
            int lo = j | ((qh >>> j) & 1) << 4;
            int hi = (15 - j) | ((qh >>> (j + 16)) & 1) << 4;
            assertEquals(0.5 * (lo - 16), y[j], "element " + j);
            assertEquals(0.5 * (hi - 16), y[j + 16], "element " + (j + 16));
        }
    }

    @Test
    void q5_k() {
        byte[] block = kQuantHeader(176);
        for (int l = 0; l < 32; l++) block[16 + l] = (byte) (l * 37 + 11);
        for (int run = 0; run < 4; run++) {
            for (int l = 0; l < 32; l++) block[48 + 32 * run + l] = (byte) (low(run, l) | high(run, l) << 4);
        }
        float[] y = dequantize(GgmlType.Q5_K, block, 256);
        for (int run = 0; run < 4; run++) {
            for (int l = 0; l < 32; l++) {
                int h = (l * 37 + 11) & 0xFF;
                int qLo = low(run, l) | ((h >>> (2 * run)) & 1) << 4;
                int qHi = high(run, l) | ((h >>> (2 * run + 1)) & 1) << 4;
                int e = 64 * run + l;
                assertEquals(1.0 * SCALES[2 * run] * qLo - 0.5 * MINS[2 * run], y[e], "element " + e);
                assertEquals(1.0 * SCALES[2 * run + 1] * qHi - 0.5 * MINS[2 * run + 1], y[e + 32], "element " + (e + 32));
            }
        }
    }

    private static final int[] SCALES = {1, 2, 3, 63, 33, 45, 62, 17};
    private static final int[] MINS = {0, 5, 10, 63, 7, 40, 1, 32};

    /** A Q4_K or Q5_K block with d = 1, dmin = 0.5 and the sub-block scales and mins above. */
    private static byte[] kQuantHeader(int bytes) {
        int[] sc = SCALES;
        int[] m = MINS;
        byte[] block = new byte[bytes];
        putHalf(block, 0, HALF_ONE);
        putHalf(block, 2, HALF_HALF);
        // Scales and mins 0-3 sit in the low six bits of bytes 0-7; 4-7 are split: low four bits in bytes 8-11,
        // top two bits in the spare high bits of bytes 0-7.
        for (int j = 0; j < 4; j++) {
            block[4 + j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            block[4 + 4 + j] = (byte) (m[j] | (m[j + 4] >> 4) << 6);
            block[4 + 8 + j] = (byte) ((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
        }
        return block;
    }

    private static void putHalf(byte[] block, int at, short half) {
        block[at] = (byte) half;
        block[at + 1] = (byte) (half >> 8);
    }

    private static float[] dequantize(GgmlType type, byte[] bytes, int elements) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, src, ValueLayout.JAVA_BYTE, 0, bytes.length);
            MemorySegment dst = arena.allocate(4L * elements);
            BlockDecoder.forType(type.dtype()).decode(src, 0, dst, 0, bytes.length / type.blockBytes());
            return dst.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
