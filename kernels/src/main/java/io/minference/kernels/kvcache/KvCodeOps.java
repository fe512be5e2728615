package io.minference.kernels.kvcache;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The 8-bit KV cache's conversions and block quantization as DSL routines, for each {@link KvCodes} format step for
 * step those of its CPU reference ({@link Fp8E4m3}, {@link KvBlockCodes}): integer operations, IEEE division and
 * round-to-nearest-even conversions only, so they assemble for every target (sm_80 included) and round as the CPU
 * does. {@link #decodeConverted} is the one exception: e4m3 by the conversion instruction, sm_89 and newer.
 */
public final class KvCodeOps {
    /** Positions per block, as a shift. */
    public static final int BLOCK_SHIFT = Integer.numberOfTrailingZeros(CodedBlocks.BLOCK_TOKENS);

    private KvCodeOps() {
    }

    /**
     * The values (without the block's scale) of the codes packed little-endian in {@code words}, four a word, by
     * integer operations: {@code shifts} is the reference recipe, {@code permute} a shorter one that gives the same
     * values.
     * <ul>
     *   <li>int8, shifts: each byte shifted to the top, arithmetically back and converted ({@code cvt.rn.f32.s32},
     *       a conversion at a fraction of the FMA rate): three instructions a value.</li>
     *   <li>int8, permute: the word's sign bits flipped once ({@code b + 128}), then each byte moved by one
     *       {@code prmt} under the exponent of 2^23 (the float {@code 2^23 + b + 128}) and 2^23 + 128 subtracted:
     *       both exact, two instructions a value and a quarter, none of them a conversion.</li>
     *   <li>e4m3, shifts: the magnitude bits to a float's bits 20..26 and the sign to bit 31, times 2^120 (exact):
     *       six instructions a value.</li>
     *   <li>e4m3, permute: the byte shifted to the top, arithmetically right by 4 (the sign lands in bit 31 and
     *       bits 27..30, exponent and mantissa in bits 20..26), one AND with {@code 0x87F00000}, times 2^120: four
     *       instructions a value, three for the top byte.</li>
     * </ul>
     */
    public static F32[] decode(KernelBuilder k, KvCodes codes, B32[] words, boolean permute) {
        if (codes == KvCodes.E4M3) return permute ? decodeE4m3BySignShift(k, words) : decodeE4m3(k, words);
        return permute ? decodeInt8ByPermute(k, words) : decodeInt8(k, words);
    }

    private static F32[] decodeE4m3(KernelBuilder k, B32[] words) {
        F32[] values = new F32[4 * words.length];
        for (int w = 0; w < words.length; w++) {
            for (int i = 0; i < 4; i++) {
                int shift = 8 * i;
                B32 magnitude = shift <= 20 ? k.shl(words[w], 20 - shift) : k.shr(words[w], shift - 20);
                B32 sign = shift <= 24 ? k.shl(words[w], 24 - shift) : words[w];
                B32 bits = k.or(k.and(magnitude, k.b32(0x7F << 20)), k.and(sign, k.b32(0x80000000)));
                values[4 * w + i] = k.mul(k.bitsAsF32(bits), 0x1p120f);
            }
        }
        return values;
    }

    private static F32[] decodeE4m3BySignShift(KernelBuilder k, B32[] words) {
        F32[] values = new F32[4 * words.length];
        for (int w = 0; w < words.length; w++) {
            S32 word = k.toS32(k.bitsAsU32(words[w]));
            for (int i = 0; i < 4; i++) {
                S32 top = i == 3 ? word : k.shl(word, 24 - 8 * i);
                B32 bits = k.and(k.bits(k.shr(top, 4)), k.b32(0x87F00000));
                values[4 * w + i] = k.mul(k.bitsAsF32(bits), 0x1p120f);
            }
        }
        return values;
    }

    private static F32[] decodeInt8(KernelBuilder k, B32[] words) {
        F32[] values = new F32[4 * words.length];
        for (int w = 0; w < words.length; w++) {
            S32 word = k.toS32(k.bitsAsU32(words[w]));
            for (int i = 0; i < 4; i++) {
                S32 top = i == 3 ? word : k.shl(word, 24 - 8 * i);
                values[4 * w + i] = k.toF32(k.shr(top, 24));
            }
        }
        return values;
    }

    /** The float 2^23, whose exponent byte {@link #decodeInt8ByPermute} puts above each code. */
    private static final int TWO_TO_23_BITS = 0x4B000000;

    private static F32[] decodeInt8ByPermute(KernelBuilder k, B32[] words) {
        F32[] values = new F32[4 * words.length];
        B32 exponent = k.b32(TWO_TO_23_BITS);
        F32 bias = k.f32(0x1p23f + 128);
        for (int w = 0; w < words.length; w++) {
            B32 biased = k.xor(words[w], k.b32(0x80808080));
            for (int i = 0; i < 4; i++) {
                // bytes 4, 5 and 7 of (exponent : biased) are 0x00, 0x00 and 0x4B
                B32 bits = k.permute(biased, exponent, 0x7440 | i);
                values[4 * w + i] = k.sub(k.bitsAsF32(bits), bias);
            }
        }
        return values;
    }

    /**
     * The values of the e4m3 codes in {@code words} (those {@code decode(k, KvCodes.E4M3, words, ...)} gives), by
     * the e4m3 conversion instruction (sm_89 and newer): each pair of codes to an f16 pair (every e4m3 value is an f16
     * value), then each half to f32; a code pair in bits 0..15 of a word gives elements 0 and 1, low byte first.
     */
    public static F32[] decodeConverted(KernelBuilder k, B32[] words) {
        F32[] values = new F32[4 * words.length];
        for (int w = 0; w < words.length; w++) System.arraycopy(k.e4m3x4ToF32(words[w]), 0, values, 4 * w, 4);
        return values;
    }

    /**
     * The code of x (already divided by its scale) in the low byte ({@link Fp8E4m3#encode},
     * {@link KvBlockCodes#encode}).
     */
    static U32 encode(KernelBuilder k, KvCodes codes, F32 x) {
        if (codes == KvCodes.INT8) {
            S32 code = roundToS32(k, x);
            code = k.max(k.min(code, k.s32(127)), k.s32(-127));
            return k.and(k.toU32(code), 0xFF);
        }
        U32 sign = k.and(k.shr(k.bitsAsU32(k.bits(x)), 24), 0x80);
        F32 a = k.abs(x);
        U32 bits = k.bitsAsU32(k.bits(a));
        U32 normal = k.sub(k.shr(k.add(k.add(bits, 0x7FFFF), k.and(k.shr(bits, 20), 1)), 20), 120 << 3);
        U32 subnormal = k.toU32(roundToS32(k, k.mul(a, 512f)));
        U32 code = k.select(k.lt(a, k.f32(Fp8E4m3.SMALLEST_NORMAL)), subnormal, normal);
        code = k.select(k.lt(a, k.f32(Fp8E4m3.MAX)), code, k.u32(Fp8E4m3.MAX_CODE));
        return k.or(code, sign);
    }

    /** Four codes packed little-endian: element i in byte i. */
    static U32 encode4(KernelBuilder k, KvCodes codes, F32[] four, int from, F32 divisor) {
        U32 word = null;
        for (int i = 0; i < 4; i++) {
            U32 code = encode(k, codes, k.div(four[from + i], divisor));
            word = word == null ? code : k.or(word, k.shl(code, 8 * i));
        }
        return word;
    }

    /**
     * x rounded to the nearest integer, ties to even (exact in the float, then converted exactly; NaN gives 0 and
     * magnitudes past the range saturate, as Java's {@code (int) Math.rint(x)}).
     */
    private static S32 roundToS32(KernelBuilder k, F32 x) {
        F32 rounded = k.emitter().like(x, "rni");
        k.emitter().instruction("cvt.rni.f32.f32", rounded, x);
        return k.toS32(rounded);
    }

    /** The 8 bf16 values of chunk c (row c / chunksPerRow, columns 8 (c mod chunksPerRow) ...) as floats. */
    static F32[] loadChunk(KernelBuilder k, U64 source, U32 sourceRow, U32 c, int rowShift,
                                   int chunksPerRow) {
        U32 row = k.shr(c, rowShift);
        U32 column = k.and(c, chunksPerRow - 1);
        U64 at = k.add(k.add(source, k.mulWide(row, sourceRow)), k.mulWide(column, 16));
        B32[] words = k.loadB32x4(Address.global(at));
        F32[] values = new F32[8];
        for (int j = 0; j < 4; j++) {
            values[2 * j] = k.bitsAsF32(k.shl(words[j], 16));
            values[2 * j + 1] = k.bitsAsF32(k.and(words[j], k.b32(0xFFFF0000)));
        }
        return values;
    }
}
