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
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode product on Q8_0, Q4_0, Q5_0, Q4_K, Q5_K and Q6_K weights with the dequantization inside the dot product's loop:
 * each block's quants are widened to floats in registers and multiplied into x, and the block's (or sub-block's) sum
 * is scaled once, so a weight byte is read once from memory and never stored as a float. Decode reads every weight
 * once per token; this is the loop whose speed is the memory's.
 *
 * <p>Q8_0 takes four rows per pass and Q4_0 two, sharing each load of x, the rows taken from distant parts of the
 * caller's range (one per quarter, or per half) so that each thread reads a few long sequential streams (the passes
 * inside one method): the
 * product's arithmetic and its memory traffic did not overlap until then (BENCHMARKS.md, issue 14). The K-quants
 * still take one row at a time.
 *
 * <p>The sums run in another order than the F32 product of the decoded weights (a block at a time, then scaled), so
 * they agree with it within float rounding rather than bit for bit. Activations stay F32: the integer product with x
 * quantized per block ({@link IntegerMatvec}, llama.cpp's way) measured slower on AVX-512 with JDK 25, since the
 * Vector API has no byte or short dot-product instruction (vpdpbusd, vpmaddwd) and widening both sides to shorts,
 * multiplying and widening the sums to ints costs more per block than widening the weights to floats and fusing the
 * multiply into the add.
 */
final class FusedMatvec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Integer> I = S.withLanes(int.class);
    private static final VectorSpecies<Byte> B = L >= 8 && L <= 16
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L)) : null;
    private static final ByteOrder HOST = ByteOrder.nativeOrder();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** 0, 1, ... L - 1: each lane's index, for the per-lane shifts of Q5_0's fifth bits. */
    private static final IntVector LANES = IntVector.zero(I).addIndex(1);

    private FusedMatvec() {
    }

    /** Whether {@link #rows} computes on {@code type} on this machine's vectors. */
    static boolean handles(DType type) {
        return B != null && switch (type) {
            case Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** out[r] = w[r, ·] · x for rows [n0, n1), rows {@code rowBytes} apart. */
    static void rows(DType type, MemorySegment x, MemorySegment w, long rowBytes, MemorySegment out, int n0, int n1,
                     int k) {
        int blocks = k / type.blockSize();
        float[] scales = new float[8];
        float[] xSums = type == DType.Q4_K || type == DType.Q5_K ? subBlockSums(x, k) : null;
        int r = n0;
        if (type == DType.Q8_0) {
            // four streams, one in each quarter of the rows: see q8_0FourStreams
            int quarter = (n1 - n0) / 4;
            q8_0FourStreams(x, w, rowBytes, blocks, out, n0, quarter);
            r = n0 + 4 * quarter;
        } else if (type == DType.Q4_0) {
            int half = (n1 - n0) / 2;
            q4_0TwoStreams(x, w, rowBytes, blocks, out, n0, half);
            r = n0 + 2 * half;
        }
        for (; r < n1; r++) {
            long row = r * rowBytes;
            float sum = switch (type) {
                case Q8_0 -> q8_0(x, w, row, blocks);
                case Q4_0 -> q4_0(x, w, row, blocks);
                case Q5_0 -> q5_0(x, w, row, blocks);
                case Q4_K -> q4_k(x, w, row, blocks, scales, xSums);
                case Q5_K -> q5_k(x, w, row, blocks, scales, xSums);
                case Q6_K -> q6_k(x, w, row, blocks);
                default -> throw new IllegalArgumentException("no fused decode product for " + type);
            };
            out.set(F32, 4L * r, sum);
        }
    }

    private static FloatVector floats(ByteVector bytes) {
        return (FloatVector) bytes.convertShape(VectorOperators.B2F, S, 0);
    }

    /**
     * Each byte's high nibble, shifted as 16-bit lanes and masked: x86 has no byte shift, and the Vector API's byte
     * shift is emulated with several instructions, where a 16-bit shift is one (the bits it moves in from the
     * neighbouring byte are masked off).
     */
    static ByteVector highNibbles(ByteVector q) {
        return q.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
    }

    private static FloatVector xs(MemorySegment x, int element) {
        return FloatVector.fromMemorySegment(S, x, 4L * element, HOST);
    }

    private static float q8_0(MemorySegment x, MemorySegment w, long row, int blocks) {
        // two accumulators, even and odd blocks: one chain of fused multiply-adds would wait its latency per block
        FloatVector even = FloatVector.zero(S), odd = FloatVector.zero(S);
        long src = row;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, src += 68) {
            even = q8_0Block(x, w, src, b).fma(FloatVector.broadcast(S, BlockDecoder.half(w, src)), even);
            odd = q8_0Block(x, w, src + 34, b + 1).fma(FloatVector.broadcast(S, BlockDecoder.half(w, src + 34)), odd);
        }
        if (b < blocks) even = q8_0Block(x, w, src, b).fma(FloatVector.broadcast(S, BlockDecoder.half(w, src)), even);
        return even.add(odd).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Rows {@code [r0, r0 + apart)} and the three runs of {@code apart} rows after them, four rows at a time (row
     * {@code r}, {@code r + apart}, {@code r + 2·apart}, {@code r + 3·apart}): each load of x serves four rows, and the
     * four accumulators are independent chains of fused multiply-adds (so no row waits on its own previous block).
     * The rows of a pass lie {@code apart} rows from each other rather than side by side, and the passes walk each
     * quarter in order, so the thread reads four long sequential streams, which the hardware prefetchers follow; four
     * adjacent rows make four short interleaved streams within the same pages, and the product streamed 1.5× slower
     * that way. The passes run inside this one method, the four offsets carried from a row to the next: a call per
     * pass cost about 6 % of a decode token on a 2,048-wide model, whose rows are short (BENCHMARKS.md, issue 14).
     */
    private static void q8_0FourStreams(MemorySegment x, MemorySegment w, long rowBytes, int blocks,
                                        MemorySegment out, int r0, int apart) {
        long step = apart * rowBytes;
        long s0 = r0 * rowBytes, s1 = s0 + step, s2 = s1 + step, s3 = s2 + step;
        for (int r = r0; r < r0 + apart; r++) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            for (int b = 0; b < blocks; b++, s0 += 34, s1 += 34, s2 += 34, s3 += 34) {
                FloatVector xv = xs(x, 32 * b);
                FloatVector t0 = quants(w, s0, 0).mul(xv), t1 = quants(w, s1, 0).mul(xv);
                FloatVector t2 = quants(w, s2, 0).mul(xv), t3 = quants(w, s3, 0).mul(xv);
                for (int j = L; j < 32; j += L) {
                    xv = xs(x, 32 * b + j);
                    t0 = quants(w, s0, j).fma(xv, t0);
                    t1 = quants(w, s1, j).fma(xv, t1);
                    t2 = quants(w, s2, j).fma(xv, t2);
                    t3 = quants(w, s3, j).fma(xv, t3);
                }
                a0 = t0.fma(FloatVector.broadcast(S, BlockDecoder.half(w, s0)), a0);
                a1 = t1.fma(FloatVector.broadcast(S, BlockDecoder.half(w, s1)), a1);
                a2 = t2.fma(FloatVector.broadcast(S, BlockDecoder.half(w, s2)), a2);
                a3 = t3.fma(FloatVector.broadcast(S, BlockDecoder.half(w, s3)), a3);
            }
            out.set(F32, 4L * r, a0.reduceLanes(VectorOperators.ADD));
            out.set(F32, 4L * (r + apart), a1.reduceLanes(VectorOperators.ADD));
            out.set(F32, 4L * (r + 2 * apart), a2.reduceLanes(VectorOperators.ADD));
            out.set(F32, 4L * (r + 3 * apart), a3.reduceLanes(VectorOperators.ADD));
        }
    }

    /** Quants [j, j + L) of the Q8_0 block at {@code src}, as floats. */
    private static FloatVector quants(MemorySegment w, long src, int j) {
        return floats(ByteVector.fromMemorySegment(B, w, src + 2 + j, LE));
    }

    /** One Q8_0 block's quants times x, unscaled, in L lanes. */
    private static FloatVector q8_0Block(MemorySegment x, MemorySegment w, long src, int b) {
        FloatVector block = floats(ByteVector.fromMemorySegment(B, w, src + 2, LE)).mul(xs(x, 32 * b));
        for (int j = L; j < 32; j += L) {
            block = floats(ByteVector.fromMemorySegment(B, w, src + 2 + j, LE)).fma(xs(x, 32 * b + j), block);
        }
        return block;
    }

    /**
     * Q4_0's counterpart of {@link #q8_0FourStreams}, on two streams: rows {@code [r0, r0 + apart)} and the run after
     * them, two rows {@code apart} from each other a pass, x loaded once.
     * Two, not four: four rows of this loop made the method too large for C2 to inline the Vector API into
     * (NodeCountInliningCutoff: vectors boxed, five times slower). The quants' offset of 8 is taken out as
     * Σ(q − 8)·x = Σq·x − 8·Σx, with Σx shared by the rows, and each row's bytes are widened to ints once, the two
     * nibbles split in int lanes.
     */
    private static void q4_0TwoStreams(MemorySegment x, MemorySegment w, long rowBytes, int blocks,
                                       MemorySegment out, int r0, int apart) {
        long s0 = r0 * rowBytes, s1 = s0 + apart * rowBytes;
        for (int r = r0; r < r0 + apart; r++) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
            FloatVector m0 = FloatVector.zero(S), m1 = FloatVector.zero(S);
            for (int b = 0; b < blocks; b++, s0 += 18, s1 += 18) {
                FloatVector t0 = FloatVector.zero(S), t1 = FloatVector.zero(S), xSum = FloatVector.zero(S);
                for (int j = 0; j < 16; j += L) {
                    FloatVector low = xs(x, 32 * b + j), high = xs(x, 32 * b + 16 + j);
                    xSum = xSum.add(low).add(high);
                    IntVector q0 = ints(w, s0 + 2 + j), q1 = ints(w, s1 + 2 + j);
                    t0 = highNibble(q0).fma(high, lowNibble(q0).fma(low, t0));
                    t1 = highNibble(q1).fma(high, lowNibble(q1).fma(low, t1));
                }
                FloatVector d0 = FloatVector.broadcast(S, BlockDecoder.half(w, s0));
                FloatVector d1 = FloatVector.broadcast(S, BlockDecoder.half(w, s1));
                a0 = t0.fma(d0, a0);
                a1 = t1.fma(d1, a1);
                m0 = xSum.fma(d0, m0);
                m1 = xSum.fma(d1, m1);
            }
            out.set(F32, 4L * r, a0.reduceLanes(VectorOperators.ADD) - 8 * m0.reduceLanes(VectorOperators.ADD));
            out.set(F32, 4L * (r + apart),
                    a1.reduceLanes(VectorOperators.ADD) - 8 * m1.reduceLanes(VectorOperators.ADD));
        }
    }

    /** The low nibble of each lane of {@code q} with bit {@code bit[lane]} of {@code qh} above it, as floats (0..31). */
    private static FloatVector fifth(IntVector q, IntVector qh, IntVector bit) {
        IntVector high = qh.lanewise(VectorOperators.LSHR, bit).and(1).lanewise(VectorOperators.LSHL, 4);
        return (FloatVector) q.and(0xF).or(high).convert(VectorOperators.I2F, 0);
    }

    /**
     * Σ d·(q − 16)·x over a row of Q5_0: each element's fifth bit (bit j of the block's little-endian {@code qh} for
     * element j) put above its nibble in int lanes by a shift per lane, the offset taken out as 16·Σx. One row at a
     * time: the two-stream loop of {@link #q4_0TwoStreams} with these shifts grew past what C2 inlines the Vector API
     * into (vectors boxed, 9.1 ms a 8192 × 2048 product against 1.1 ms this way).
     */
    private static float q5_0(MemorySegment x, MemorySegment w, long row, int blocks) {
        FloatVector acc = FloatVector.zero(S), mins = FloatVector.zero(S);
        long src = row;
        for (int b = 0; b < blocks; b++, src += 22) {
            FloatVector t = FloatVector.zero(S), xSum = FloatVector.zero(S);
            IntVector h = IntVector.broadcast(I, w.get(INT_LE, src + 2));
            for (int j = 0; j < 16; j += L) {
                FloatVector low = xs(x, 32 * b + j), high = xs(x, 32 * b + 16 + j);
                xSum = xSum.add(low).add(high);
                IntVector q = ints(w, src + 6 + j);
                t = fifth(q.lanewise(VectorOperators.ASHR, 4), h, LANES.add(16 + j)).fma(high,
                        fifth(q, h, LANES.add(j)).fma(low, t));
            }
            FloatVector d = FloatVector.broadcast(S, BlockDecoder.half(w, src));
            acc = t.fma(d, acc);
            mins = xSum.fma(d, mins);
        }
        return acc.reduceLanes(VectorOperators.ADD) - 16 * mins.reduceLanes(VectorOperators.ADD);
    }

    /** The sum of x over each 32-element sub-block, which every K-quant row's minimums multiply. */
    private static float[] subBlockSums(MemorySegment x, int k) {
        float[] sums = new float[k / 32];
        for (int j = 0; j < sums.length; j++) {
            FloatVector sum = FloatVector.zero(S);
            for (int i = 0; i < 32; i += L) sum = sum.add(xs(x, 32 * j + i));
            sums[j] = sum.reduceLanes(VectorOperators.ADD);
        }
        return sums;
    }

    /** L bytes from {@code at}, sign-extended to ints (one instruction; the nibbles are then split in int lanes). */
    private static IntVector ints(MemorySegment w, long at) {
        return (IntVector) ByteVector.fromMemorySegment(B, w, at, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    private static FloatVector lowNibble(IntVector q) {
        return (FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0);
    }

    /** Bits 4–7 of each lane: the arithmetic shift's sign bits are masked off. */
    private static FloatVector highNibble(IntVector q) {
        return (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0xF).convert(VectorOperators.I2F, 0);
    }

    /** A Q4_0 block's low nibbles, less 8, as floats. */
    private static FloatVector lowQuants(ByteVector q) {
        return floats(q.and((byte) 0xF).sub((byte) 8));
    }

    /** A Q4_0 block's high nibbles, less 8, as floats. */
    private static FloatVector highQuants(ByteVector q) {
        return floats(highNibbles(q).sub((byte) 8));
    }

    private static float q4_0(MemorySegment x, MemorySegment w, long row, int blocks) {
        FloatVector acc = FloatVector.zero(S);
        long src = row;
        for (int b = 0; b < blocks; b++, src += 18) {
            FloatVector block = FloatVector.zero(S);
            for (int j = 0; j < 16; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, src + 2 + j, LE);
                block = lowQuants(q).fma(xs(x, 32 * b + j), block);
                block = highQuants(q).fma(xs(x, 32 * b + 16 + j), block);
            }
            acc = block.fma(FloatVector.broadcast(S, BlockDecoder.half(w, src)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Σ over sub-blocks of d·scale·(q · x) − dmin·min·Σx: the quants' products and the sub-block's sum of x are
     * accumulated apart, each under its own scale.
     */
    private static float q4_k(MemorySegment x, MemorySegment w, long row, int blocks, float[] scales,
                              float[] xSums) {
        FloatVector acc = FloatVector.zero(S);
        float mins = 0;
        long src = row;
        for (int b = 0; b < blocks; b++, src += 144) {
            mins += scales(w, src, scales, xSums, 8 * b);
            for (int run = 0; run < 4; run++) {
                FloatVector qxLo = FloatVector.zero(S), qxHi = FloatVector.zero(S);
                int e = 256 * b + 64 * run;
                for (int l = 0; l < 32; l += L) {
                    ByteVector q = ByteVector.fromMemorySegment(B, w, src + 16 + 32L * run + l, LE);
                    qxLo = floats(q.and((byte) 0xF)).fma(xs(x, e + l), qxLo);
                    qxHi = floats(highNibbles(q)).fma(xs(x, e + 32 + l), qxHi);
                }
                acc = qxLo.fma(FloatVector.broadcast(S, scales[2 * run]), acc);
                acc = qxHi.fma(FloatVector.broadcast(S, scales[2 * run + 1]), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * Q5_K as {@link #q4_k}, in int lanes: bit 2r of qh[l] is the fifth bit of quant byte 32r + l's low nibble, bit
     * 2r + 1 its high nibble's (r the run of 64 elements), each put above its nibble by a shift.
     */
    private static float q5_k(MemorySegment x, MemorySegment w, long row, int blocks, float[] scales,
                              float[] xSums) {
        FloatVector acc = FloatVector.zero(S);
        float mins = 0;
        long src = row;
        for (int b = 0; b < blocks; b++, src += 176) {
            mins += scales(w, src, scales, xSums, 8 * b);
            for (int run = 0; run < 4; run++) {
                FloatVector qxLo = FloatVector.zero(S), qxHi = FloatVector.zero(S);
                int e = 256 * b + 64 * run;
                for (int l = 0; l < 32; l += L) {
                    IntVector q = ints(w, src + 48 + 32L * run + l), qh = ints(w, src + 16 + l);
                    qxLo = withFifthBit(q, qh, 2 * run).fma(xs(x, e + l), qxLo);
                    qxHi = withFifthBit(q.lanewise(VectorOperators.ASHR, 4), qh, 2 * run + 1).fma(xs(x, e + 32 + l),
                            qxHi);
                }
                acc = qxLo.fma(FloatVector.broadcast(S, scales[2 * run]), acc);
                acc = qxHi.fma(FloatVector.broadcast(S, scales[2 * run + 1]), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * A Q4_K or Q5_K super-block's eight d·scale_j into {@code scales}; returns Σ dmin·min_j·Σx_j over its sub-blocks,
     * whose sums of x start at {@code xSums[first]}.
     */
    private static float scales(MemorySegment w, long src, float[] scales, float[] xSums, int first) {
        float d = BlockDecoder.half(w, src), dmin = BlockDecoder.half(w, src + 2);
        SubBlockScales packed = SubBlockScales.read(w, src + 4);
        float mins = 0;
        for (int j = 0; j < 8; j++) {
            scales[j] = d * packed.scale(j);
            mins += dmin * packed.min(j) * xSums[first + j];
        }
        return mins;
    }

    /** The low nibble of each lane of {@code q} with bit {@code bit} of the lane of {@code qh} above it, as floats. */
    private static FloatVector withFifthBit(IntVector q, IntVector qh, int bit) {
        IntVector high = qh.lanewise(VectorOperators.ASHR, bit).and(1).lanewise(VectorOperators.LSHL, 4);
        return (FloatVector) q.and(0xF).or(high).convert(VectorOperators.I2F, 0);
    }

    /** Σ d·scale·(q − 32)·x, one scale per 16 elements, the layout of {@code BlockRows}' Q6_K decoding. */
    private static float q6_k(MemorySegment x, MemorySegment w, long row, int blocks) {
        FloatVector acc = FloatVector.zero(S);
        long src = row;
        for (int b = 0; b < blocks; b++, src += 210) {
            float d = BlockDecoder.half(w, src + 208);
            for (int half = 0; half < 2; half++) {
                long ql = src + 64L * half, qh = src + 128 + 32L * half, sc = src + 192 + 8L * half;
                int y = 256 * b + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    ByteVector low0 = ByteVector.fromMemorySegment(B, w, ql + l, LE);
                    ByteVector low1 = ByteVector.fromMemorySegment(B, w, ql + l + 32, LE);
                    ByteVector high = ByteVector.fromMemorySegment(B, w, qh + l, LE);
                    for (int part = 0; part < 4; part++) {
                        ByteVector low = (part & 1) == 0 ? low0 : low1;
                        ByteVector nibble = part < 2 ? low.and((byte) 0xF)
                                : highNibbles(low);
                        ByteVector q = nibble.or(high.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2 * part).reinterpretAsBytes().and((byte) 3)
                                .lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                        float scale = d * BlockDecoder.signedByte(w, sc + is + 2L * part);
                        acc = floats(q).mul(xs(x, y + l + 32 * part)).fma(FloatVector.broadcast(S, scale), acc);
                    }
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
