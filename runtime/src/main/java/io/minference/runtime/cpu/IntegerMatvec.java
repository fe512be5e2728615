package io.minference.runtime.cpu;

import io.minference.runtime.DType;
import io.minference.runtime.quant.BlockDecoder;
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
 * The decode product on Q8_0 and Q4_0 weights as integer dot products, as llama.cpp computes them: x is quantized
 * once per product to blocks of 32 int8 under an F32 scale ({@link #quantize}), then each weight block's quants are
 * multiplied into x's in 16-bit lanes, summed into 32-bit lanes, and the block's sum is scaled once by the product of
 * the two blocks' scales.
 *
 * <p>Why 16-bit lanes: a Q8_0 product is at most 128·127 = 16,256 in magnitude and two of them fit a short (32,512),
 * so the two halves of a block are multiplied and added in shorts and widened once; a Q4_0 product is at most
 * 8·127 = 1,016, so a whole block of 32 sums in shorts.
 *
 * <p>Not the default ({@code -Dminference.cpu.integerDot=true} selects it): the Vector API has no byte or short
 * dot-product instruction (vpdpbusd, vpmaddwd), and widening both sides to shorts, multiplying, and widening the sums
 * to ints and then floats measured 3.4–4.0 ns per Q8_0 block on one AVX-512 core against 2.3–2.6 ns for
 * {@link FusedMatvec}'s float loop (BENCHMARKS.md, "Decode on quantized weights"). It is kept, tested, for JDKs or
 * machines where that balance differs.
 *
 * <p>Exactness: the integer sums are exact, so the result differs from the F32 product of the decoded weights only by
 * x's quantization (at most half of x's block scale per element) and the float rounding of one scaled sum per block.
 */
final class IntegerMatvec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final VectorSpecies<Short> H = L >= 8 && L <= 16
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L)) : null;
    private static final VectorSpecies<Byte> B = H == null ? null
            : VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final int BLOCK = 32;
    private static final float ROUNDING = 0x1.8p23f;

    private IntegerMatvec() {
    }

    /** Whether {@link #rows} computes on {@code type} on this machine's vectors. */
    static boolean handles(DType type) {
        return H != null && (type == DType.Q8_0 || type == DType.Q4_0);
    }

    /** Bytes {@link #quantize} writes for {@code k} elements: k quants, then one F32 scale per block. */
    static long quantizedBytes(int k) {
        return k + 4L * (k / BLOCK);
    }

    /**
     * x[k] (k a multiple of 32) as int8 blocks: per block d = max|x| / 127 and q = rint(x / d), so |x − d·q| ≤ d/2.
     * Quants at byte 0, the block scales as F32 from byte k. The decode products on int8 (these and
     * {@link AmxMatvec}'s) read this format; vectors of 8 or 16 floats.
     */
    static void quantize(MemorySegment x, int k, MemorySegment q) {
        ByteOrder host = ByteOrder.nativeOrder();
        for (int b = 0; b < k / BLOCK; b++) {
            long src = 4L * BLOCK * b;
            FloatVector max = FloatVector.zero(S);
            for (int j = 0; j < BLOCK; j += L) {
                max = max.max(FloatVector.fromMemorySegment(S, x, src + 4L * j, host).abs());
            }
            float d = max.reduceLanes(VectorOperators.MAX) / 127, inverse = d == 0 ? 0 : 1 / d;
            for (int j = 0; j < BLOCK; j += L) {
                quants(FloatVector.fromMemorySegment(S, x, src + 4L * j, host), inverse)
                        .intoMemorySegment(q, (long) BLOCK * b + j, host);
            }
            q.set(F32, k + 4L * b, d);
        }
    }

    /**
     * v · inverse rounded to the nearest integer, halves to even (as {@link Math#rint}), as bytes: the one rounding
     * of every int8 quantization of activations (decode here, prefill in {@link AmxMatmul}). Adding and subtracting
     * 1.5 · 2^23 leaves no fraction bits to a float of magnitude below 2^22, and the quants are at most 127. Vectors
     * of 8 or 16 floats.
     */
    static ByteVector quants(FloatVector v, float inverse) {
        FloatVector rounded = v.mul(inverse).add(ROUNDING).sub(ROUNDING);
        // a constant species either way: one looked up from the length would keep C2 from compiling the conversion
        VectorSpecies<Byte> bytes = v.length() == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
        return (ByteVector) rounded.convertShape(VectorOperators.F2B, bytes, 0);
    }

    /** out[r] = w[r, ·] · x for rows [n0, n1), rows {@code rowBytes} apart, x {@link #quantize quantized} in q. */
    static void rows(DType type, MemorySegment q, MemorySegment w, long rowBytes, MemorySegment out, int n0, int n1,
                     int k) {
        for (int r = n0; r < n1; r++) {
            long row = r * rowBytes;
            float sum = type == DType.Q8_0 ? q8_0(q, w, row, k) : q4_0(q, w, row, k);
            out.set(F32, 4L * r, sum);
        }
    }

    private static ShortVector shorts(ByteVector bytes) {
        return (ShortVector) bytes.convertShape(VectorOperators.B2S, H, 0);
    }

    private static ShortVector shorts(MemorySegment m, long offset) {
        return shorts(ByteVector.fromMemorySegment(B, m, offset, LE));
    }

    /** acc + (Σ of the block's 16-bit partial sums, widened to ints) · scale, in floats. */
    private static FloatVector scaled(IntVector block, float scale, FloatVector acc) {
        return ((FloatVector) block.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, scale), acc);
    }

    private static IntVector ints(ShortVector partial) {
        return (IntVector) partial.convertShape(VectorOperators.S2I, I, 0);
    }

    private static float q8_0(MemorySegment q, MemorySegment w, long row, int k) {
        FloatVector acc = FloatVector.zero(S);
        long src = row;
        for (int b = 0; b < k / BLOCK; b++, src += 34) {
            IntVector block = IntVector.zero(I);
            long xq = (long) BLOCK * b;
            for (int j = 0; j < BLOCK; j += 2 * L) {
                ShortVector two = shorts(w, src + 2 + j).mul(shorts(q, xq + j))
                        .add(shorts(w, src + 2 + j + L).mul(shorts(q, xq + j + L)));
                block = block.add(ints(two));
            }
            acc = scaled(block, BlockDecoder.half(w, src) * q.get(F32, k + 4L * b), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static float q4_0(MemorySegment q, MemorySegment w, long row, int k) {
        FloatVector acc = FloatVector.zero(S);
        long src = row;
        for (int b = 0; b < k / BLOCK; b++, src += 18) {
            ShortVector sum = ShortVector.zero(H);
            long xq = (long) BLOCK * b;
            for (int j = 0; j < 16; j += L) {
                ByteVector quants = ByteVector.fromMemorySegment(B, w, src + 2 + j, LE);
                ByteVector low = quants.and((byte) 0xF).sub((byte) 8);
                ByteVector high = FusedMatvec.highNibbles(quants).sub((byte) 8);
                sum = sum.add(shorts(low).mul(shorts(q, xq + j))).add(shorts(high).mul(shorts(q, xq + 16 + j)));
            }
            acc = scaled(ints(sum), BlockDecoder.half(w, src) * q.get(F32, k + 4L * b), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
