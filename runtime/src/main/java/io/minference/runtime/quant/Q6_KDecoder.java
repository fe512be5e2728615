package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;

/**
 * Q6_K: super-blocks of 256 elements in 210 bytes: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16
 * signed 8-bit scales (one per 16 elements), then an F16 d. Element = d·scale·(q − 32) with q a 6-bit value.
 *
 * <p>The super-block is two halves of 128 elements; half h uses ql[64h..64h+63], qh[32h..32h+31] and scales
 * [8h..8h+7]. Within a half, for l in 0..31: elements l, l+32, l+64, l+96 take the low nibble of ql[l], the low
 * nibble of ql[l+32], the high nibble of ql[l], the high nibble of ql[l+32], and bits 0-1, 2-3, 4-5, 6-7 of qh[l]
 * as their top two bits; their scales are scales[l/16], [l/16 + 2], [l/16 + 4], [l/16 + 6].
 */
final class Q6_KDecoder implements BlockDecoder {
    static final int BLOCK = 256;
    static final int BYTES = 210;

    @Override
    public void decode(MemorySegment src, long srcOffset, MemorySegment dst, long dstIndex, long blocks) {
        for (long b = 0; b < blocks; b++) {
            long block = srcOffset + b * BYTES;
            long out = dstIndex + b * BLOCK;
            float d = BlockDecoder.half(src, block + 208);
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half;
                long qh = block + 128 + 32L * half;
                long sc = block + 192 + 8L * half;
                long y = out + 128L * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int low0 = BlockDecoder.unsignedByte(src, ql + l);
                    int low1 = BlockDecoder.unsignedByte(src, ql + l + 32);
                    int high = BlockDecoder.unsignedByte(src, qh + l);
                    int q1 = ((low0 & 0xF) | (high & 3) << 4) - 32;
                    int q2 = ((low1 & 0xF) | ((high >>> 2) & 3) << 4) - 32;
                    int q3 = ((low0 >>> 4) | ((high >>> 4) & 3) << 4) - 32;
                    int q4 = ((low1 >>> 4) | ((high >>> 6) & 3) << 4) - 32;
                    dst.setAtIndex(HOST_FLOAT, y + l, d * BlockDecoder.signedByte(src, sc + is) * q1);
                    dst.setAtIndex(HOST_FLOAT, y + l + 32, d * BlockDecoder.signedByte(src, sc + is + 2) * q2);
                    dst.setAtIndex(HOST_FLOAT, y + l + 64, d * BlockDecoder.signedByte(src, sc + is + 4) * q3);
                    dst.setAtIndex(HOST_FLOAT, y + l + 96, d * BlockDecoder.signedByte(src, sc + is + 6) * q4);
                }
            }
        }
    }
}
