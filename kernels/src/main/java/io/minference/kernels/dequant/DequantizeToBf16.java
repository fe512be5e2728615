package io.minference.kernels.dequant;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Reg;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.LaunchShape;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Expands rows of ggml blocks (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), or of F16, BF16 or F32 elements, into a bf16
 * matrix on the device, equal bit for bit to {@link CpuDequantizeToBf16}: every element is the f32 value the scalar
 * reference decoder computes, with each multiply and subtract rounded on its own ({@code mul.rn}, {@code sub.rn}: ptxas
 * may not fuse them into an FMA, which would round once and differ), then rounded to nearest-even bf16
 * ({@code cvt.rn.bf16x2.f32}; exact for F16 and BF16 values, NaN payloads aside: the device writes the canonical NaN).
 * <p>Parameters: {@code src} (the rows back to back, 2-byte aligned; 4-byte for F32), {@code dst} (bf16, 16-byte
 * aligned), {@code units} (u32, rows × units per row), {@code units_per_row} (u32), {@code row_stride} (u32, elements
 * between destination rows, a multiple of 8 and at least the row's width). A unit is what one thread expands: one
 * block (32 elements, or a 256-element super-block) or 8 elements of a plain type ({@link #unit}). Launch: block
 * {@value #THREADS}, any grid ({@link #shape}); a grid-stride loop over units, read with byte loads (block sizes of 18,
 * 22, 34 and 210 bytes align nothing wider; 2- or 4-byte loads for plain types) and written with 16-byte stores.
 * Destination columns from the width to the stride are not written.
 *
 * @param type the block type
 */
public record DequantizeToBf16(DType type) implements KernelDefinition {
    public static final int THREADS = 256;
    /** The types this kernel expands, in the order the catalog lists them. */
    public static final List<DType> TYPES = List.of(DType.Q8_0, DType.Q4_0, DType.Q5_0, DType.Q4_K, DType.Q5_K,
            DType.Q6_K, DType.F16, DType.BF16, DType.F32);
    /** The elements one thread expands of a plain (non-block) type: one 16-byte store. */
    private static final int PLAIN_UNIT = 8;
    private static final String NAME = "dequantize to bf16";

    public DequantizeToBf16 {
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException(NAME + " takes " + TYPES + ", not " + type);
        }
    }

    /** True when {@code type} is one this kernel expands (rows of a multiple of {@link #unit} wide). */
    public static boolean expands(DType type) {
        return TYPES.contains(type);
    }

    /** The elements one thread expands: a block, or 8 of a plain type; a row's width must be a multiple of it. */
    public static int unit(DType type) {
        return type.isBlockType() ? type.blockSize() : PLAIN_UNIT;
    }

    /** One kernel per type, for the catalog. */
    public static List<DequantizeToBf16> all() {
        return TYPES.stream().map(DequantizeToBf16::new).toList();
    }

    @Override
    public String entryName() {
        return "dequantize_bf16_" + type.name().toLowerCase();
    }

    /** One thread per unit, at most 16 thread blocks per multiprocessor. */
    public static LaunchShape shape(long units, int multiprocessors) {
        long grid = Math.max(1, Math.min((units + THREADS - 1) / THREADS, 16L * multiprocessors));
        return LaunchShape.of((int) grid, THREADS);
    }

    /**
     * Expands {@code rows} rows of {@code width} elements, stored as blocks from the start of {@code src}, into the
     * rows of {@code dst} that start {@code rowStride} elements apart. Asynchronous on {@code stream}.
     */
    public void launch(CudaStream stream, DeviceBuffer src, DeviceBuffer dst, long rows, long width, long rowStride) {
        checkShape(type, rows, width, rowStride);
        long units = rows * (width / unit(type));
        if (units > 0xFFFF_FFFFL) throw new IllegalArgumentException(NAME + ": " + units + " units are too many");
        if (src.byteSize() < rows * type.byteSize(width)) {
            throw new IllegalArgumentException(NAME + ": the source holds " + src.byteSize() + " bytes, " + rows
                    + " rows of " + width + " " + type + " need " + rows * type.byteSize(width));
        }
        if (dst.byteSize() < 2 * ((rows - 1) * rowStride + width)) {
            throw new IllegalArgumentException(NAME + ": the destination holds " + dst.byteSize() + " bytes, too few"
                    + " for " + rows + " bf16 rows of stride " + rowStride);
        }
        if (dst.address() % 16 != 0 || src.address() % 4 != 0) {
            throw new IllegalArgumentException(NAME + ": the destination must be 16-byte aligned and the source"
                    + " 4-byte aligned");
        }
        stream.context().kernel(emit(stream.context().device().ptxTarget()),
                        shape(units, stream.context().device().multiprocessorCount()))
                .launch(stream, src, dst, (int) units, (int) (width / unit(type)), (int) rowStride);
    }

    /** The shape rules the kernel and its twin share. */
    static void checkShape(DType type, long rows, long width, long rowStride) {
        if (rows <= 0 || width <= 0 || width % unit(type) != 0) {
            throw new IllegalArgumentException(NAME + ": " + rows + " rows of width " + width + " are not whole "
                    + type + " units of " + unit(type));
        }
        if (rowStride < width || rowStride % 8 != 0 || rowStride > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(NAME + ": the row stride " + rowStride + " must be a multiple of 8 of"
                    + " at least the width " + width);
        }
    }

    @Override
    public void define(KernelBuilder k) {
        U64 src = k.pointerParam("src");
        U64 dst = k.pointerParam("dst");
        U32 units = k.u32Param("units");
        U32 unitsPerRow = k.u32Param("units_per_row");
        U32 rowStride = k.u32Param("row_stride");
        int unit = unit(type);
        k.maxThreadsPerBlock(THREADS);
        k.describe(type + " to bf16, " + unit + " elements per thread, grid-stride");
        U32 stride = k.mul(k.gridDim(), k.blockDim()).named("stride");
        U32 i = k.var("i", k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()));
        k.whileLoop(() -> k.lt(i, units), () -> {
            U64 block = k.add(src, k.mulWide(i, (int) type.byteSize(unit))).named("block");
            U32 row = k.div(i, unitsPerRow);
            U32 column = k.mul(k.rem(i, unitsPerRow), unit);
            U64 element = k.add(k.mulWide(row, rowStride), k.toU64(column));
            U64 out = k.add(dst, k.shl(element, 1)).named("out");
            Bytes bytes = new Bytes(k, block);
            IntFunction<F32> value = switch (type) {
                case Q8_0 -> q8_0(k, bytes);
                case Q4_0 -> q4_0(k, bytes);
                case Q5_0 -> q5_0(k, bytes);
                case Q4_K -> q4_k(k, bytes, false);
                case Q5_K -> q4_k(k, bytes, true);
                case Q6_K -> q6_k(k, bytes);
                case F16 -> e -> bytes.half(2 * e);
                case BF16 -> e -> k.bf16ToF32(k.loadB16(Address.global(block).plus(2L * e)));
                case F32 -> e -> k.loadF32(Address.global(block).plus(4L * e));
                default -> throw new IllegalStateException("no device decoder for " + type);
            };
            for (int e = 0; e < unit; e += 8) {
                B32[] words = new B32[4];
                for (int w = 0; w < 4; w++) words[w] = k.packBf16(value.apply(e + 2 * w), value.apply(e + 2 * w + 1));
                k.storeVector(Address.global(out).plus(2L * e), words);
            }
            k.set(i, k.add(i, stride));
        });
    }

    /** Element = d · q, q a signed byte. */
    private static IntFunction<F32> q8_0(KernelBuilder k, Bytes b) {
        F32 d = b.half(0);
        return e -> mulRn(k, d, k.toF32(b.signed(2 + e)));
    }

    /** Element e = (nibble − 8) · d: byte e mod 16, low nibble for e &lt; 16. */
    private static IntFunction<F32> q4_0(KernelBuilder k, Bytes b) {
        F32 d = b.half(0);
        return e -> mulRn(k, k.toF32(centred(k, nibble(k, b.unsigned(2 + e % 16), e >= 16), 8)), d);
    }

    /** Element e = (nibble | fifth bit · 16 − 16) · d, the fifth bit being bit e of the u32 at byte 2. */
    private static IntFunction<F32> q5_0(KernelBuilder k, Bytes b) {
        F32 d = b.half(0);
        return e -> {
            U32 low = nibble(k, b.unsigned(6 + e % 16), e >= 16);
            U32 fifth = k.shl(k.and(k.shr(b.unsigned(2 + e / 8), e % 8), 1L), 4);
            return mulRn(k, k.toF32(centred(k, k.or(low, fifth), 16)), d);
        };
    }

    /**
     * Element e of run r = e / 64, sub-block j = e / 32: d·scale(j) · q − dmin·min(j) with q the low (even j) or high
     * nibble of quant byte 32r + e mod 32, plus bit j of qh[e mod 32] · 16 for Q5_K.
     */
    private static IntFunction<F32> q4_k(KernelBuilder k, Bytes b, boolean fifthBit) {
        F32 d = b.half(0);
        F32 dmin = b.half(2);
        int quantsAt = fifthBit ? 48 : 16;
        Map<Integer, F32[]> subBlocks = new HashMap<>();
        return e -> {
            int j = e / 32;
            int l = e % 32;
            F32[] scaleMin = subBlocks.computeIfAbsent(j, unused -> new F32[] {
                    mulRn(k, d, k.toF32(subBlockField(k, b, j, true))),
                    mulRn(k, dmin, k.toF32(subBlockField(k, b, j, false)))});
            U32 q = nibble(k, b.unsigned(quantsAt + 32 * (j / 2) + l), j % 2 == 1);
            if (fifthBit) q = k.or(q, k.shl(k.and(k.shr(b.unsigned(16 + l), j), 1L), 4));
            F32 scaled = mulRn(k, scaleMin[0], k.toF32(q));
            F32 diff = k.emitter().like(scaled, "diff");
            k.emitter().instruction("sub.rn.f32", diff, scaled, scaleMin[1]);
            return diff;
        };
    }

    /** Sub-block j's 6-bit scale or min from the 12 bytes at 4, as {@code SubBlockScales} reads them. */
    private static U32 subBlockField(KernelBuilder k, Bytes b, int j, boolean scale) {
        if (j < 4) return k.and(b.unsigned(4 + (scale ? j : j + 4)), 63L);
        U32 packed = b.unsigned(4 + j + 4);
        U32 low = scale ? k.and(packed, 15L) : k.shr(packed, 4);
        return k.or(low, k.shl(k.shr(b.unsigned(4 + (scale ? j - 4 : j)), 6), 4));
    }

    /**
     * Element e of half h = e / 128, quarter p = (e mod 128) / 32, l = e mod 32: (d · scale) · (q − 32), q the
     * low (p even) or high nibble of ql[64h + l + 32 (p mod 2)] with bits 2p, 2p + 1 of qh[32h + l] on top, and
     * scale the signed byte scales[8h + l / 16 + 2p].
     */
    private static IntFunction<F32> q6_k(KernelBuilder k, Bytes b) {
        F32 d = b.half(208);
        return e -> {
            int h = e / 128;
            int p = e % 128 / 32;
            int l = e % 32;
            U32 low = nibble(k, b.unsigned(64 * h + l + 32 * (p % 2)), p >= 2);
            U32 high = k.shl(k.and(k.shr(b.unsigned(128 + 32 * h + l), 2 * p), 3L), 4);
            F32 scale = mulRn(k, d, k.toF32(b.signed(192 + 8 * h + l / 16 + 2 * p)));
            return mulRn(k, scale, k.toF32(centred(k, k.or(low, high), 32)));
        };
    }

    private static U32 nibble(KernelBuilder k, U32 value, boolean high) {
        return high ? k.shr(value, 4) : k.and(value, 15L);
    }

    private static S32 centred(KernelBuilder k, U32 q, int offset) {
        return k.add(k.toS32(q), -offset);
    }

    /** a · b rounded on its own: {@code .rn} keeps ptxas from contracting it into a following add. */
    private static F32 mulRn(KernelBuilder k, F32 a, F32 b) {
        F32 d = k.emitter().like(a.isConstant() ? b : a, "prod");
        k.emitter().instruction("mul.rn.f32", d, a, b);
        return d;
    }

    /** One block's bytes, each loaded once when first read. */
    private static final class Bytes {
        private final KernelBuilder k;
        private final U64 block;
        private final Map<Integer, U32> unsigned = new HashMap<>();
        private final Map<Integer, S32> signed = new HashMap<>();

        Bytes(KernelBuilder k, U64 block) {
            this.k = k;
            this.block = block;
        }

        U32 unsigned(int offset) {
            return unsigned.computeIfAbsent(offset, at -> load(k.u32(0), "ld.global.u8", at));
        }

        S32 signed(int offset) {
            return signed.computeIfAbsent(offset, at -> load(k.s32(0), "ld.global.s8", at));
        }

        /** The little-endian IEEE half at {@code offset} (2-byte aligned), as f32. */
        F32 half(int offset) {
            return k.halfToF32(k.loadB16(Address.global(block).plus(offset)));
        }

        private <R extends Reg> R load(R model, String opcode, int offset) {
            R d = k.emitter().like(model, "b");
            k.emitter().instruction(opcode, d, Address.global(block).plus(offset));
            return d;
        }
    }
}
