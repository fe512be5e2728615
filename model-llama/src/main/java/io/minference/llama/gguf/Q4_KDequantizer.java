package io.minference.llama.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K: super-blocks of 256 elements in 144 bytes: F16 d, F16 dmin, 12 bytes packing eight 6-bit (scale, min)
 * pairs, then 128 bytes of 4-bit quants. The super-block is four runs of 64 elements; run r uses sub-blocks 2r and
 * 2r + 1 and bytes 32r..32r+31 of the quants: low nibbles give its first 32 elements with sub-block 2r's scale and
 * min, high nibbles the next 32 with sub-block 2r + 1's. Element = d·scale·q − dmin·min.
 *
 * <p>Packing of (scale, min) for sub-block j, with s the 12 bytes: for j &lt; 4, scale = s[j] &amp; 63 and
 * min = s[j + 4] &amp; 63; otherwise scale = (s[j + 4] &amp; 15) | (s[j − 4] &gt;&gt; 6) &lt;&lt; 4 and
 * min = (s[j + 4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4.
 */
final class Q4_KDequantizer implements Dequantizer {
    static final int BLOCK = 256;
    static final int BYTES = 144;

    @Override
    public void dequantize(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        int[] scales = new int[12];
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * BYTES;
            long out = dstIndex + b * BLOCK;
            float d = Dequantizer.half(src, block);
            float dmin = Dequantizer.half(src, block + 2);
            for (int i = 0; i < 12; i++) scales[i] = Dequantizer.unsignedByte(src, block + 4 + i);
            long quants = block + 16;
            for (int run = 0; run < 4; run++) {
                int lo = 2 * run;
                int hi = 2 * run + 1;
                float dLo = d * scale(scales, lo);
                float mLo = dmin * min(scales, lo);
                float dHi = d * scale(scales, hi);
                float mHi = dmin * min(scales, hi);
                for (int l = 0; l < 32; l++) {
                    int q = Dequantizer.unsignedByte(src, quants + 32L * run + l);
                    dst.setAtIndex(HOST_FLOAT, out + 64L * run + l, dLo * (q & 0xF) - mLo);
                    dst.setAtIndex(HOST_FLOAT, out + 64L * run + 32 + l, dHi * (q >>> 4) - mHi);
                }
            }
        }
    }

    static int scale(int[] s, int j) {
        return j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | ((s[j - 4] >>> 6) << 4);
    }

    static int min(int[] s, int j) {
        return j < 4 ? s[j + 4] & 63 : (s[j + 4] >>> 4) | ((s[j] >>> 6) << 4);
    }
}
