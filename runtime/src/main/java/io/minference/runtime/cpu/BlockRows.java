package io.minference.runtime.cpu;

import io.minference.runtime.DType;
import io.minference.runtime.quant.BlockDecoder;
import io.minference.runtime.quant.SubBlockScales;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight rows kept in a block type (the quantizations of a model file, F16, BF16), decoded a run of columns at a
 * time into floats for the F32 register tiles: the products read the blocks where they lie (a memory-mapped file)
 * and decode each into L1 or L2 just before use, so that no F32 copy of the model ever exists.
 *
 * <p>The vector paths widen a vector of bytes (or shorts) to a vector of floats of as many lanes and apply the
 * block's scale with the same float operations, in the same order, as the scalar reference {@link BlockDecoder}, so
 * that they decode bit for bit alike. Types and lane counts without a vector path use the reference.
 */
final class BlockRows {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Bytes (shorts, ints) in as many lanes as a float vector, where such a species exists. */
    private static final VectorSpecies<Byte> B = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L))
            : null;
    private static final VectorSpecies<Short> H = L >= 4 ? VectorSpecies.of(short.class,
            VectorShape.forBitSize(16 * L)) : null;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final boolean VECTOR_BYTES = B != null && L <= 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteOrder HOST = ByteOrder.nativeOrder();

    private BlockRows() {
    }

    /**
     * Decodes columns [k0, k1) of {@code rows} consecutive weight rows into {@code dst} (host-order floats), row r's
     * floats from float {@code r · dstStride} on. k0 and k1 are multiples of the type's block size (k1 may be the
     * row's end). The products pass native scratch here: the register tiles then read native memory whatever the
     * weights' type, so their memory accesses stay compiled for one kind of segment.
     *
     * @param w        the weights, rows {@code rowBytes} apart
     * @param row0Byte byte offset of the first row
     */
    static void decode(DType type, MemorySegment w, long row0Byte, long rowBytes, int rows, int k0, int k1,
                       MemorySegment dst, int dstStride) {
        long blockOffset = (long) (k0 / type.blockSize()) * type.blockBytes();
        int blocks = (k1 - k0) / type.blockSize();
        for (int r = 0; r < rows; r++) {
            long src = row0Byte + r * rowBytes + blockOffset;
            int out = r * dstStride;
            switch (type) {
                case Q8_0 -> { if (VECTOR_BYTES) q8_0(w, src, blocks, dst, out); else reference(type, w, src, blocks, dst, out); }
                case Q4_0 -> { if (VECTOR_BYTES) q4_0(w, src, blocks, dst, out); else reference(type, w, src, blocks, dst, out); }
                case Q4_K -> { if (VECTOR_BYTES) q4_k(w, src, blocks, dst, out, false); else reference(type, w, src, blocks, dst, out); }
                case Q5_K -> { if (VECTOR_BYTES) q4_k(w, src, blocks, dst, out, true); else reference(type, w, src, blocks, dst, out); }
                case Q6_K -> { if (VECTOR_BYTES) q6_k(w, src, blocks, dst, out); else reference(type, w, src, blocks, dst, out); }
                case BF16 -> bf16(w, src, blocks, dst, out);
                case F32 -> MemorySegment.copy(w, BlockDecoder.LE_FLOAT, src, dst, BlockDecoder.HOST_FLOAT, 4L * out,
                        blocks);
                default -> reference(type, w, src, blocks, dst, out);
            }
        }
    }

    private static void reference(DType type, MemorySegment w, long src, int blocks, MemorySegment dst, int out) {
        BlockDecoder.forType(type).decode(w, src, dst, out, blocks);
    }

    private static void store(FloatVector v, MemorySegment dst, int index) {
        v.intoMemorySegment(dst, 4L * index, HOST);
    }

    private static FloatVector floats(ByteVector bytes) {
        return (FloatVector) bytes.convertShape(VectorOperators.B2F, S, 0);
    }

    private static ByteVector bytes(MemorySegment w, long offset) {
        return ByteVector.fromMemorySegment(B, w, offset, LE);
    }

    /** d · q for 32 signed bytes q. */
    private static void q8_0(MemorySegment w, long src, int blocks, MemorySegment dst, int out) {
        for (int b = 0; b < blocks; b++, src += 34, out += 32) {
            float d = BlockDecoder.half(w, src);
            for (int j = 0; j < 32; j += L) store(floats(bytes(w, src + 2 + j)).mul(d), dst, out + j);
        }
    }

    /** d · (nibble − 8): byte j's low nibble is element j, its high nibble element j + 16. */
    private static void q4_0(MemorySegment w, long src, int blocks, MemorySegment dst, int out) {
        for (int b = 0; b < blocks; b++, src += 18, out += 32) {
            float d = BlockDecoder.half(w, src);
            for (int j = 0; j < 16; j += L) {
                ByteVector q = bytes(w, src + 2 + j);
                store(floats(q.and((byte) 0xF).sub((byte) 8)).mul(d), dst, out + j);
                store(floats(q.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF).sub((byte) 8)).mul(d), dst,
                        out + 16 + j);
            }
        }
    }

    /**
     * d·scale·q − dmin·min over four runs of 64 (see {@code Q4_KDecoder}); with {@code fifthBit}, Q5_K, whose quants
     * take a fifth bit from qh (bit 2r of qh[l] for the low nibbles of run r, bit 2r + 1 for the high).
     */
    private static void q4_k(MemorySegment w, long src, int blocks, MemorySegment dst, int out, boolean fifthBit) {
        int bytes = fifthBit ? 176 : 144;
        long quantsAt = fifthBit ? 48 : 16;
        for (int b = 0; b < blocks; b++, src += bytes, out += 256) {
            float d = BlockDecoder.half(w, src);
            float dmin = BlockDecoder.half(w, src + 2);
            SubBlockScales scales = SubBlockScales.read(w, src + 4);
            for (int run = 0; run < 4; run++) {
                int lo = 2 * run, hi = 2 * run + 1;
                float dLo = d * scales.scale(lo), mLo = dmin * scales.min(lo);
                float dHi = d * scales.scale(hi), mHi = dmin * scales.min(hi);
                for (int l = 0; l < 32; l += L) {
                    ByteVector q = bytes(w, src + quantsAt + 32L * run + l);
                    ByteVector qLo = q.and((byte) 0xF);
                    ByteVector qHi = q.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF);
                    if (fifthBit) {
                        ByteVector h = bytes(w, src + 16 + l);
                        qLo = qLo.or(h.lanewise(VectorOperators.LSHR, lo).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                        qHi = qHi.or(h.lanewise(VectorOperators.LSHR, hi).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    }
                    store(floats(qLo).mul(dLo).sub(mLo), dst, out + 64 * run + l);
                    store(floats(qHi).mul(dHi).sub(mHi), dst, out + 64 * run + 32 + l);
                }
            }
        }
    }

    /** d·scale·(q − 32) with 6-bit q from a low nibble and two high bits (see {@code Q6_KDecoder}). */
    private static void q6_k(MemorySegment w, long src, int blocks, MemorySegment dst, int out) {
        for (int b = 0; b < blocks; b++, src += 210, out += 256) {
            float d = BlockDecoder.half(w, src + 208);
            for (int half = 0; half < 2; half++) {
                long ql = src + 64L * half, qh = src + 128 + 32L * half, sc = src + 192 + 8L * half;
                int y = out + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    ByteVector low0 = bytes(w, ql + l), low1 = bytes(w, ql + l + 32), high = bytes(w, qh + l);
                    ByteVector q1 = low0.and((byte) 0xF).or(high.and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q2 = low1.and((byte) 0xF)
                            .or(high.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q3 = low0.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)
                            .or(high.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q4 = low1.lanewise(VectorOperators.LSHR, 4).and((byte) 0xF)
                            .or(high.lanewise(VectorOperators.LSHR, 6).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    store(floats(q1.sub((byte) 32)).mul(d * BlockDecoder.signedByte(w, sc + is)), dst, y + l);
                    store(floats(q2.sub((byte) 32)).mul(d * BlockDecoder.signedByte(w, sc + is + 2)), dst, y + l + 32);
                    store(floats(q3.sub((byte) 32)).mul(d * BlockDecoder.signedByte(w, sc + is + 4)), dst, y + l + 64);
                    store(floats(q4.sub((byte) 32)).mul(d * BlockDecoder.signedByte(w, sc + is + 6)), dst, y + l + 96);
                }
            }
        }
    }

    /** bfloat16 is the top half of an F32: widen, shift left 16, reinterpret. */
    private static void bf16(MemorySegment w, long src, int count, MemorySegment dst, int out) {
        int i = 0;
        if (H != null && I.length() == L) {
            for (; i + L <= count; i += L) {
                ShortVector h = ShortVector.fromMemorySegment(H, w, src + 2L * i, LE);
                store(((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats(), dst, out + i);
            }
        }
        for (; i < count; i++) {
            dst.setAtIndex(BlockDecoder.HOST_FLOAT, out + i,
                    Float.intBitsToFloat((w.get(BlockDecoder.LE_SHORT, src + 2L * i) & 0xFFFF) << 16));
        }
    }
}
