package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K and Q5_K: super-blocks of 256 elements. Q4_K takes 144 bytes: F16 d, F16 dmin, 12 bytes packing eight 6-bit
 * (scale, min) pairs (as {@link SubBlockScales} reads them), then 128 bytes of 4-bit quants. Q5_K takes 176: the
 * same with 32 bytes qh of fifth bits between the scales and the quants.
 *
 * <p>The super-block is four runs of 64 elements; run r uses sub-blocks 2r and 2r + 1 and bytes 32r..32r+31 of the
 * quants: low nibbles give its first 32 elements with sub-block 2r's scale and min, high nibbles the next 32 with
 * sub-block 2r + 1's. In Q5_K, bit 2r of qh[l] is the fifth bit of the low nibble of quant byte 32r + l, bit 2r + 1
 * that of its high nibble. Element = d·scale·q − dmin·min.
 */
final class Q4_KDecoder implements BlockDecoder {
    static final int BLOCK = 256;

    private final boolean fifthBit;
    private final int bytes;
    private final int quantsAt;

    /** @param fifthBit true for Q5_K */
    Q4_KDecoder(boolean fifthBit) {
        this.fifthBit = fifthBit;
        this.bytes = fifthBit ? 176 : 144;
        this.quantsAt = fifthBit ? 48 : 16;
    }

    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * bytes;
            long out = dstIndex + b * BLOCK;
            float d = BlockDecoder.half(src, block);
            float dmin = BlockDecoder.half(src, block + 2);
            SubBlockScales scales = SubBlockScales.read(src, block + 4);
            long quants = block + quantsAt;
            for (int run = 0; run < 4; run++) {
                int lo = 2 * run;
                int hi = 2 * run + 1;
                float dLo = d * scales.scale(lo);
                float mLo = dmin * scales.min(lo);
                float dHi = d * scales.scale(hi);
                float mHi = dmin * scales.min(hi);
                for (int l = 0; l < 32; l++) {
                    int q = BlockDecoder.unsignedByte(src, quants + 32L * run + l);
                    int h = fifthBit ? BlockDecoder.unsignedByte(src, block + 16 + l) : 0;
                    int qLo = (q & 0xF) | ((h >>> lo) & 1) << 4;
                    int qHi = (q >>> 4) | ((h >>> hi) & 1) << 4;
                    dst.setAtIndex(HOST_FLOAT, out + 64L * run + l, dLo * qLo - mLo);
                    dst.setAtIndex(HOST_FLOAT, out + 64L * run + 32 + l, dHi * qHi - mHi);
                }
            }
        }
    }
}
