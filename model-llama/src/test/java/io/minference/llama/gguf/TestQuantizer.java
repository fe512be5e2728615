package io.minference.llama.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Simple quantizers for the supported tensor types, written from the block layouts for round-trip tests. They pick
 * scales naively (no error search as llama.cpp does); the tests bound the error accordingly.
 */
final class TestQuantizer {
    private TestQuantizer() {
    }

    static byte[] encode(GgmlType type, float[] x) {
        return switch (type) {
            case F32 -> {
                ByteBuffer b = le(4L * x.length);
                for (float v : x) b.putFloat(v);
                yield b.array();
            }
            case F16 -> {
                ByteBuffer b = le(2L * x.length);
                for (float v : x) b.putShort(Float.floatToFloat16(v));
                yield b.array();
            }
            case BF16 -> {
                ByteBuffer b = le(2L * x.length);
                for (float v : x) b.putShort((short) ((Float.floatToRawIntBits(v) + 0x8000) >>> 16));
                yield b.array();
            }
            case Q8_0 -> q8_0(x);
            case Q4_0 -> q4_0(x);
            case Q4_K -> q4_k(x);
            case Q6_K -> q6_k(x);
            default -> throw new IllegalArgumentException(type.name());
        };
    }

    private static ByteBuffer le(long n) {
        return ByteBuffer.allocate(Math.toIntExact(n)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float absMax(float[] x, int from, int n) {
        float m = 0;
        for (int i = from; i < from + n; i++) m = Math.max(m, Math.abs(x[i]));
        return m;
    }

    private static byte[] q8_0(float[] x) {
        ByteBuffer b = le(x.length / 32 * 34L);
        for (int block = 0; block < x.length; block += 32) {
            float d = absMax(x, block, 32) / 127f;
            short dh = Float.floatToFloat16(d);
            float dq = Float.float16ToFloat(dh);
            b.putShort(dh);
            for (int i = 0; i < 32; i++) b.put((byte) clamp(Math.round(x[block + i] / dq), -127, 127));
        }
        return b.array();
    }

    private static byte[] q4_0(float[] x) {
        ByteBuffer b = le(x.length / 32 * 18L);
        for (int block = 0; block < x.length; block += 32) {
            float d = absMax(x, block, 32) / 7f;
            short dh = Float.floatToFloat16(d);
            float dq = Float.float16ToFloat(dh);
            b.putShort(dh);
            for (int j = 0; j < 16; j++) {
                int lo = clamp(Math.round(x[block + j] / dq) + 8, 0, 15);
                int hi = clamp(Math.round(x[block + 16 + j] / dq) + 8, 0, 15);
                b.put((byte) (lo | hi << 4));
            }
        }
        return b.array();
    }

    /** Q4_K: per 32-element sub-block, a scale and a min as 6-bit multiples of the super-block's d and dmin. */
    private static byte[] q4_k(float[] x) {
        ByteBuffer b = le(x.length / 256 * 144L);
        for (int sb = 0; sb < x.length; sb += 256) {
            float[] scale = new float[8];
            float[] min = new float[8];
            for (int j = 0; j < 8; j++) {
                float lo = 0;
                float hi = 0;
                for (int i = 0; i < 32; i++) {
                    lo = Math.min(lo, x[sb + 32 * j + i]);
                    hi = Math.max(hi, x[sb + 32 * j + i]);
                }
                scale[j] = (hi - lo) / 15f;
                min[j] = -lo;
            }
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                maxScale = Math.max(maxScale, scale[j]);
                maxMin = Math.max(maxMin, min[j]);
            }
            short dh = Float.floatToFloat16(maxScale / 63f);
            short dminh = Float.floatToFloat16(maxMin / 63f);
            float d = Float.float16ToFloat(dh);
            float dmin = Float.float16ToFloat(dminh);
            int[] sc = new int[8];
            int[] m = new int[8];
            for (int j = 0; j < 8; j++) {
                sc[j] = d == 0 ? 0 : clamp((int) Math.ceil(scale[j] / d), 0, 63);
                m[j] = dmin == 0 ? 0 : clamp((int) Math.ceil(min[j] / dmin), 0, 63);
            }
            b.putShort(dh).putShort(dminh);
            b.put(packScalesAndMins(sc, m));
            for (int run = 0; run < 4; run++) {
                int[] lowNibbles = quants(x, sb + 64 * run, d * sc[2 * run], dmin * m[2 * run]);
                int[] highNibbles = quants(x, sb + 64 * run + 32, d * sc[2 * run + 1], dmin * m[2 * run + 1]);
                for (int l = 0; l < 32; l++) b.put((byte) (lowNibbles[l] | highNibbles[l] << 4));
            }
        }
        return b.array();
    }

    private static int[] quants(float[] x, int from, float step, float offset) {
        int[] q = new int[32];
        for (int i = 0; i < 32; i++) q[i] = step == 0 ? 0 : clamp(Math.round((x[from + i] + offset) / step), 0, 15);
        return q;
    }

    /**
     * The 12-byte packing of eight 6-bit scales and mins: bytes 0-3 hold scales 0-3 in their low six bits and the
     * top two bits of scales 4-7; bytes 4-7 the same for mins; bytes 8-11 the low four bits of scale 4+j (low
     * nibble) and min 4+j (high nibble).
     */
    static byte[] packScalesAndMins(int[] sc, int[] m) {
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            s[j + 4] = (byte) (m[j] | (m[j + 4] >> 4) << 6);
            s[j + 8] = (byte) ((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
        }
        return s;
    }

    /** Q6_K: per 16-element sub-block an int8 scale times the super-block's d; 6-bit quants offset by 32. */
    private static byte[] q6_k(float[] x) {
        ByteBuffer b = le(x.length / 256 * 210L);
        for (int sb = 0; sb < x.length; sb += 256) {
            float[] sub = new float[16];
            float maxSub = 0;
            for (int k = 0; k < 16; k++) {
                sub[k] = absMax(x, sb + 16 * k, 16) / 31f;
                maxSub = Math.max(maxSub, sub[k]);
            }
            short dh = Float.floatToFloat16(maxSub / 127f);
            float d = Float.float16ToFloat(dh);
            int[] scales = new int[16];
            for (int k = 0; k < 16; k++) scales[k] = d == 0 ? 0 : clamp((int) Math.ceil(sub[k] / d), -128, 127);
            int[] q = new int[256];
            for (int e = 0; e < 256; e++) {
                float step = d * scales[Q6Layout.scaleIndex(e)];
                q[e] = step == 0 ? 32 : clamp(Math.round(x[sb + e] / step), -32, 31) + 32;
            }
            b.put(Q6Layout.pack(q, scales, dh));
        }
        return b.array();
    }

    static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /** Where element e (0..255) of a Q6_K super-block keeps its bits. */
    static final class Q6Layout {
        private Q6Layout() {
        }

        /** The 16-element scale group: each 128-element half has 8 scales; within it l/16 + 2·(quarter). */
        static int scaleIndex(int e) {
            int half = e / 128;
            int quarter = e % 128 / 32;
            int l = e % 32;
            return 8 * half + l / 16 + 2 * quarter;
        }

        /** Packs 256 six-bit quants (0..63), 16 scales and the F16 d into the 210-byte block. */
        static byte[] pack(int[] q, int[] scales, short d) {
            byte[] block = new byte[210];
            for (int e = 0; e < 256; e++) {
                int half = e / 128;
                int quarter = e % 128 / 32;
                int l = e % 32;
                int ql = 64 * half + l + (quarter % 2 == 1 ? 32 : 0);
                int shift = quarter >= 2 ? 4 : 0;
                block[ql] |= (byte) ((q[e] & 15) << shift);
                block[128 + 32 * half + l] |= (byte) ((q[e] >> 4) << (2 * quarter));
            }
            for (int k = 0; k < 16; k++) block[192 + k] = (byte) scales[k];
            block[208] = (byte) d;
            block[209] = (byte) (d >> 8);
            return block;
        }
    }
}
