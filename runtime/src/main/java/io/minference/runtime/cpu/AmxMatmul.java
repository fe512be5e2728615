package io.minference.runtime.cpu;

import static io.minference.runtime.cpu.x86.X86Assembler.R10;
import static io.minference.runtime.cpu.x86.X86Assembler.R11;
import static io.minference.runtime.cpu.x86.X86Assembler.R8;
import static io.minference.runtime.cpu.x86.X86Assembler.R9;
import static io.minference.runtime.cpu.x86.X86Assembler.RAX;
import static io.minference.runtime.cpu.x86.X86Assembler.RCX;
import static io.minference.runtime.cpu.x86.X86Assembler.RDI;
import static io.minference.runtime.cpu.x86.X86Assembler.RDX;
import static io.minference.runtime.cpu.x86.X86Assembler.RSI;
import static io.minference.runtime.cpu.x86.X86Assembler.RSP;

import io.minference.runtime.DType;
import io.minference.runtime.cpu.x86.NativeCode;
import io.minference.runtime.cpu.x86.X86Assembler;
import io.minference.runtime.quant.BlockDecoder;
import io.minference.runtime.quant.SubBlockScales;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The prefill product with the CPU's AMX tiles, in int8, on weights whose blocks are exact in int8: Q8_0 (read
 * where it lies), Q4_0, Q5_0, Q4_K, Q5_K and Q6_K (widened to int8 blocks of 32, 16 rows at a time). The tokens are
 * quantized to blocks of 32 int8 under an F32 scale (as {@link IntegerMatvec} does for decode), and each 16 × 16
 * output tile (16 weight rows, 16 tokens) sums, block by block, one {@code tdpbssd} of the weights' quants with the
 * tokens' into 32-bit sums, scaled into float accumulators by the two blocks' scales. A K-quant's block is
 * d·sc·q − dmin·m: its offset term is the block's offset times the token's block sum, one more multiply-add a row
 * and block, in a second specialization of the kernel; a Q6_K block has a scale per 16-element half, so the third
 * specialization takes two half-width tile products per block ({@link Scaling}).
 *
 * <p>Why: the Vector API has no 8- or 16-bit dot product, and the F32 register tiles of {@link MatmulTiles} reach
 * at most the cores' float FMA rate, about 2.5× short of what llama.cpp's int8 products reach on the same cores
 * (BENCHMARKS.md, "AMX tiles"). One {@code tdpbssd} is 8,192 multiply-adds.
 *
 * <p>The kernel, generated once per specialization by {@link X86Assembler} and run through {@link NativeCode},
 * computes one tile over all of K. Its launch contract
 * ({@code tile(w, rowBytes, quants, tokenTable, rowTable, sums, workspace, runs, singles)}):
 * <ul>
 *   <li>{@code w}: the quants of block 0 of the tile's first weight row, in 34-byte blocks (a Q8_0 block's byte 2);
 *       row r's block b at {@code w + r·rowBytes + 34·b}, read as a 16-row × 32-byte tile;</li>
 *   <li>{@code quants}: the tile's 16 tokens quantized, block b at {@code quants + 512·b} in the tiles' paired
 *       layout (byte 4·t + j of row i is element 4i + j of token t's block), read as an 8-row × 64-byte tile;</li>
 *   <li>{@code tokenTable}: F32 [blocks][32], per block the 16 tokens' scales, then their scales times their quants'
 *       sum (read by the specialization with offsets only);</li>
 *   <li>{@code rowTable}: F32 [blocks][32], per block the 16 rows' scales, then their offsets (likewise), or by
 *       halves the rows' scales of each half;</li>
 *   <li>{@code sums}: the tile's F32 result [16 rows][16 tokens], written;</li>
 *   <li>{@code workspace}, 64-byte aligned: four 1 KiB buffers for blocks' 32-bit sums; the tile configuration at
 *       4096;</li>
 *   <li>the blocks: {@code runs} of {@link Scaling#unroll()} (the main loop, four sums tiles in flight), then
 *       {@code singles}. The tiles are released on return.</li>
 * </ul>
 *
 * <p>Exactness: the block sums are exact; the result differs from the F32 product of the decoded weights by the
 * tokens' quantization (at most half a block scale per element) and the float rounding of the scaled block sums, the
 * bound {@code AmxMatmulTest} checks per row.
 */
final class AmxMatmul {
    static final int ROWS = 16, TOKENS = 16, BLOCK = 32;
    private static final int Q8_0_BYTES = AmxTiles.Q8_0_BYTES;
    private static final int QUANT_TILE_BYTES = BLOCK * TOKENS;
    /** Bytes per block of the token and row tables: 16 scales, then 16 sums (tokens) or offsets (rows). */
    private static final int TABLE_BYTES = 4 * 32;
    private static final int SUM_BYTES = 4 * ROWS * TOKENS;
    /** Workspace: four buffers of tile sums (one per sums tile), then the tile configuration. */
    private static final int CONFIG = 4 * SUM_BYTES, WORKSPACE_BYTES = CONFIG + 64;
    private static final int GROUPS_PER_ITEM = 2;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Float> S16 = FloatVector.SPECIES_512;
    /**
     * How a block's 32-bit sums become floats, one specialization of the kernel each (a kernel is a record of its
     * specialization): by the two scales ({@link #PLAIN}: Q8_0, Q4_0, Q5_0); plus the rows' offsets times the
     * tokens' block sums ({@link #OFFSETS}: Q4_K, Q5_K); or by halves, each 16-element half of a block a tile product
     * and a row scale of its own ({@link #HALVES}: Q6_K, whose sub-blocks are 16 elements).
     */
    enum Scaling {
        PLAIN, OFFSETS, HALVES;

        static Scaling of(DType type) {
            return switch (type) {
                case Q4_K, Q5_K -> OFFSETS;
                case Q6_K -> HALVES;
                default -> PLAIN;
            };
        }

        /** Blocks per iteration of the kernel's main loop: as many as the four sums tiles serve. */
        int unroll() {
            return this == HALVES ? 2 : 4;
        }

        /** Bytes of K per tile product. */
        int tileBytes() {
            return this == HALVES ? BLOCK / 2 : BLOCK;
        }

        /** Tile shapes {rows, bytes a row}: weights in tmm0 and tmm1, tokens in tmm2 and tmm3, sums in tmm4–tmm7. */
        int[][] tiles() {
            int[] weights = {ROWS, tileBytes()}, tokens = {tileBytes() / 4, 4 * TOKENS}, sums = {ROWS, 4 * TOKENS};
            return new int[][] {weights, weights, tokens, tokens, sums, sums, sums, sums};
        }
    }

    /** The kernels, generated when first called: only by a backend that {@link CpuBackend#usesAmx() uses AMX}. */
    private static final class Kernel {
        static final MethodHandle[] BY_SCALING = Arrays.stream(Scaling.values()).map(Kernel::load)
                .toArray(MethodHandle[]::new);

        private static MethodHandle load(Scaling scaling) {
            ValueLayout[] arguments = Collections.nCopies(9, ValueLayout.JAVA_LONG).toArray(ValueLayout[]::new);
            return NativeCode.load(tileKernel(scaling), FunctionDescriptor.ofVoid(arguments), true);
        }
    }

    private static final VectorSpecies<Integer> I16 = IntVector.SPECIES_512;
    private static final IntVector LANE_INDEX = IntVector.fromArray(I16, IntStream.range(0, 16).toArray(), 0);
    /** Element offsets of one token's column in a [16 rows][16 tokens] tile. */
    private static final int[] COLUMN = IntStream.range(0, ROWS).map(r -> r * TOKENS).toArray();
    // per-thread buffers, reused from product to product
    private static final ThreadLocal<MemorySegment> TOKENS_BUFFER = new ThreadLocal<>();
    @SuppressWarnings("unchecked")
    private static final ThreadLocal<MemorySegment>[] WORKSPACES = Arrays.stream(Scaling.values())
            .map(scaling -> new ThreadLocal<MemorySegment>()).toArray(ThreadLocal[]::new);
    private static final ThreadLocal<MemorySegment> ROW_TABLE = new ThreadLocal<>();
    private static final ThreadLocal<MemorySegment> WIDENED = new ThreadLocal<>();
    private static final ThreadLocal<MemorySegment> SUMS_BUFFER = new ThreadLocal<>();
    private static final ThreadLocal<int[]> QUADS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> TOKEN_ROWS = ThreadLocal.withInitial(() -> new int[TOKENS]);
    private static final ThreadLocal<float[]> TABLE = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> RESULTS = ThreadLocal.withInitial(() -> new float[0]);

    private AmxMatmul() {
    }

    /**
     * Whether {@link #multiply} computes this product here: weights in a type exact in int8 blocks of 32 (Q8_0, read
     * at its address, so in native memory; Q4_0, Q5_0, Q4_K, Q5_K, and Q6_K by halves), rows in groups of 16.
     */
    static boolean handles(CpuBackend backend, DType type, MemorySegment w, int tokens, int n, int k) {
        boolean exact = switch (type) {
            case Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
        return backend.usesAmx() && exact && w.isNative() && tokens > 1 && n % ROWS == 0
                && k % type.blockSize() == 0;
    }

    /** out[t, r] = Σ_k x[t, k] · w[r, k] for t &lt; tokens, r &lt; n; x and out strides in floats. */
    static void multiply(CpuBackend backend, boolean parallel, MemorySegment x, long xStride, DType type,
                         MemorySegment w, long rowBytes, MemorySegment out, long outStride, int tokens, int n,
                         int k) {
        int blocks = k / BLOCK;
        int panels = (tokens + TOKENS - 1) / TOKENS;
        Scaling scaling = Scaling.of(type);
        long panelBytes = (long) blocks * (QUANT_TILE_BYTES + TABLE_BYTES);
        MemorySegment quantized = CpuMatmul.nativeScratch(TOKENS_BUFFER, panels * panelBytes);
        CpuMatmul.forEach(backend, parallel && panels > 1, panels, p -> quantizePanel(x, xStride, tokens, k, p,
                quantized.asSlice(p * panelBytes, panelBytes), scaling == Scaling.OFFSETS));
        MethodHandle kernel = Kernel.BY_SCALING[scaling.ordinal()];
        int groups = n / ROWS;
        int items = (groups + GROUPS_PER_ITEM - 1) / GROUPS_PER_ITEM;
        CpuMatmul.forEach(backend, parallel, items, i -> {
            MemorySegment workspace = AmxTiles.workspace(WORKSPACES[scaling.ordinal()], WORKSPACE_BYTES, CONFIG,
                    scaling.tiles());
            MemorySegment sums = CpuMatmul.nativeScratch(SUMS_BUFFER, (long) panels * SUM_BYTES);
            MemorySegment rowTable = CpuMatmul.nativeScratch(ROW_TABLE, (long) blocks * TABLE_BYTES);
            float[] table = CpuMatmul.scratch(TABLE, blocks * TABLE_BYTES / 4);
            float[] results = CpuMatmul.scratch(RESULTS, panels * ROWS * TOKENS);
            MemorySegment widened = type == DType.Q8_0 ? null
                    : CpuMatmul.nativeScratch(WIDENED, (long) ROWS * blocks * Q8_0_BYTES);
            for (int g = i * GROUPS_PER_ITEM; g < Math.min(groups, (i + 1) * GROUPS_PER_ITEM); g++) {
                int row0 = g * ROWS;
                // the group's rows as 34-byte int8 blocks, where they lie or widened into the scratch, and their table
                MemorySegment rows = w;
                long stride = rowBytes, first = row0 * rowBytes;
                switch (type) {
                    case Q8_0 -> halfScales(w, first, rowBytes, blocks, table);
                    case Q4_0, Q5_0 -> widenLegacy(type, w, first, rowBytes, blocks, widened, table);
                    case Q6_K -> widenQ6_K(w, first, rowBytes, blocks, widened, table);
                    default -> widenKQuants(type, w, first, rowBytes, blocks, widened, table);
                }
                if (widened != null) {
                    rows = widened;
                    stride = (long) blocks * Q8_0_BYTES;
                    first = 0;
                }
                MemorySegment.copy(table, 0, rowTable, F32, 0, blocks * TABLE_BYTES / 4);
                for (int p = 0; p < panels; p++) {
                    long panel = quantized.address() + p * panelBytes;
                    call(kernel, scaling, rows.address() + first + 2, stride, panel,
                            panel + (long) blocks * QUANT_TILE_BYTES, rowTable.address(),
                            sums.address() + p * SUM_BYTES, workspace.address(), blocks);
                }
                // the tiles' sums are [row][token]; out wants [token][row]: a gather per token from a heap copy
                MemorySegment.copy(sums, F32, 0, results, 0, panels * ROWS * TOKENS);
                for (int p = 0; p < panels; p++) {
                    int t0 = p * TOKENS;
                    for (int t = 0; t < Math.min(TOKENS, tokens - t0); t++) {
                        FloatVector.fromArray(S16, results, p * ROWS * TOKENS + t, COLUMN, 0)
                                .intoMemorySegment(out, 4L * ((t0 + t) * outStride + row0), ByteOrder.nativeOrder());
                    }
                }
            }
        });
    }

    /** The row table's scales of 16 rows of Q8_0 blocks: their F16 scales, widened. */
    private static void halfScales(MemorySegment w, long first, long rowBytes, int blocks, float[] table) {
        for (int r = 0; r < ROWS; r++) {
            long src = first + r * rowBytes;
            for (int b = 0; b < blocks; b++, src += Q8_0_BYTES) table[32 * b + r] = BlockDecoder.half(w, src);
        }
    }

    /**
     * 16 rows of Q4_0 or Q5_0 blocks as Q8_0 blocks with the same scale (exact), the scales also into the row table.
     * Q4_0 (18 bytes): an F16 scale, then 16 bytes whose low nibbles are elements 0–15 and high nibbles 16–31, each
     * less 8. Q5_0 (22 bytes): the scale, 32 fifth bits (bit i of a little-endian int for element i), the same nibbles,
     * each element less 16.
     */
    static void widenLegacy(DType type, MemorySegment w, long first, long rowBytes, int blocks, MemorySegment dst,
                            float[] table) {
        boolean fifthBit = type == DType.Q5_0;
        int blockBytes = fifthBit ? 22 : 18;
        long nibbles = fifthBit ? 6 : 2;
        byte zero = (byte) (fifthBit ? 16 : 8);
        long out = 0;
        for (int r = 0; r < ROWS; r++) {
            long src = first + r * rowBytes;
            for (int b = 0; b < blocks; b++, src += blockBytes, out += Q8_0_BYTES) {
                dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, out, w.get(ValueLayout.JAVA_SHORT_UNALIGNED, src));
                table[32 * b + r] = BlockDecoder.half(w, src);
                ByteVector quants = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, w, src + nibbles,
                        ByteOrder.nativeOrder());
                ByteVector low = quants.and((byte) 0xF), high = FusedMatvec.highNibbles(quants);
                if (fifthBit) {
                    int bits = w.get(ValueLayout.JAVA_INT_UNALIGNED, src + 2);
                    low = low.or(fifthBits(bits));
                    high = high.or(fifthBits(bits >>> 16));
                }
                low.sub(zero).intoMemorySegment(dst, out + 2, ByteOrder.nativeOrder());
                high.sub(zero).intoMemorySegment(dst, out + 18, ByteOrder.nativeOrder());
            }
        }
    }

    /** Bits 0–15 of {@code bits} as sixteen bytes, bit i to byte i's bit 4. */
    private static ByteVector fifthBits(int bits) {
        IntVector lanes = IntVector.broadcast(I16, bits).lanewise(VectorOperators.LSHR, LANE_INDEX).and(1);
        return ((ByteVector) lanes.convertShape(VectorOperators.I2B, ByteVector.SPECIES_128, 0))
                .lanewise(VectorOperators.LSHL, 4);
    }

    /**
     * 16 rows of Q4_K or Q5_K super-blocks as int8 blocks of 32 (their sub-blocks: quants 0–15, or 0–31 with the
     * fifth bit), each sub-block's d·scale and −dmin·min into the row table (see {@code Q4_KDecoder}).
     */
    static void widenKQuants(DType type, MemorySegment w, long first, long rowBytes, int blocks, MemorySegment dst,
                             float[] table) {
        boolean fifthBit = type == DType.Q5_K;
        int superBytes = fifthBit ? 176 : 144;
        long quantsAt = fifthBit ? 48 : 16;
        for (int r = 0; r < ROWS; r++) {
            long src = first + r * rowBytes;
            long out = (long) r * blocks * Q8_0_BYTES;
            for (int b = 0; b < blocks; b += 8, src += superBytes) {
                float d = BlockDecoder.half(w, src), dmin = BlockDecoder.half(w, src + 2);
                SubBlockScales packed = SubBlockScales.read(w, src + 4);
                ByteVector high = fifthBit ? ByteVector.fromMemorySegment(ByteVector.SPECIES_256, w, src + 16,
                        ByteOrder.nativeOrder()) : null;
                for (int run = 0; run < 4; run++) {
                    ByteVector q = ByteVector.fromMemorySegment(ByteVector.SPECIES_256, w, src + quantsAt + 32L * run,
                            ByteOrder.nativeOrder());
                    for (int half = 0; half < 2; half++) {
                        int sub = 2 * run + half;
                        ByteVector quants = half == 0 ? q.and((byte) 0xF) : FusedMatvec.highNibbles(q);
                        if (fifthBit) {
                            quants = quants.or(high.lanewise(VectorOperators.LSHR, sub).and((byte) 1)
                                    .lanewise(VectorOperators.LSHL, 4));
                        }
                        quants.intoMemorySegment(dst, out + (long) (b + sub) * Q8_0_BYTES + 2, ByteOrder.nativeOrder());
                        table[32 * (b + sub) + r] = d * packed.scale(sub);
                        table[32 * (b + sub) + 16 + r] = -dmin * packed.min(sub);
                    }
                }
            }
        }
    }

    /**
     * 16 rows of Q6_K super-blocks as int8 blocks of 32 (6-bit quants less 32), the scales of each block's two
     * 16-element sub-blocks, d·scale, into the row table's two halves (see {@code Q6_KDecoder}).
     */
    static void widenQ6_K(MemorySegment w, long first, long rowBytes, int blocks, MemorySegment dst, float[] table) {
        for (int r = 0; r < ROWS; r++) {
            long src = first + r * rowBytes;
            long out = (long) r * blocks * Q8_0_BYTES;
            for (int b = 0; b < blocks; b += 8, src += 210) {
                float d = BlockDecoder.half(w, src + 208);
                for (int half = 0; half < 2; half++) {
                    long ql = src + 64L * half, qh = src + 128 + 32L * half;
                    ByteVector low0 = bytes256(w, ql), low1 = bytes256(w, ql + 32), high = bytes256(w, qh);
                    ByteVector[] quants = {
                        low0.and((byte) 0xF).or(high.and((byte) 3).lanewise(VectorOperators.LSHL, 4)),
                        low1.and((byte) 0xF).or(high.lanewise(VectorOperators.LSHR, 2).and((byte) 3)
                                .lanewise(VectorOperators.LSHL, 4)),
                        FusedMatvec.highNibbles(low0).or(high.lanewise(VectorOperators.LSHR, 4).and((byte) 3)
                                .lanewise(VectorOperators.LSHL, 4)),
                        FusedMatvec.highNibbles(low1).or(high.lanewise(VectorOperators.LSHR, 6).and((byte) 3)
                                .lanewise(VectorOperators.LSHL, 4))};
                    for (int g = 0; g < 4; g++) {
                        int block = b + 4 * half + g;
                        quants[g].sub((byte) 32).intoMemorySegment(dst, out + (long) block * Q8_0_BYTES + 2,
                                ByteOrder.nativeOrder());
                        for (int h = 0; h < 2; h++) {
                            int sub = 8 * half + 2 * g + h;
                            table[32 * block + 16 * h + r] = d * BlockDecoder.signedByte(w, src + 192 + sub);
                        }
                    }
                }
            }
        }
    }

    private static ByteVector bytes256(MemorySegment w, long at) {
        return ByteVector.fromMemorySegment(ByteVector.SPECIES_256, w, at, ByteOrder.nativeOrder());
    }

    private static void call(MethodHandle kernel, Scaling scaling, long w, long rowBytes, long quants,
                             long tokenTable, long rowTable, long sums, long workspace, int blocks) {
        try {
            kernel.invokeExact(w, rowBytes, quants, tokenTable, rowTable, sums, workspace,
                    (long) (blocks / scaling.unroll()), (long) (blocks % scaling.unroll()));
        } catch (Throwable t) {
            throw new IllegalStateException("the AMX tile kernel failed", t);
        }
    }

    /**
     * Quantizes panel p's tokens (zeros past the last) into {@code dst}: per block of 32 elements of a token,
     * d = max|x| / 127 and q = rint(x / d) ({@link IntegerMatvec#quants}); the quants in the tiles' paired layout, then the token table (the scales,
     * and with {@code blockSums} each block's d·Σq). Each token's quants go first, four to an int, into a heap array
     * [token][k / 4]; then each tile row (four quants of each of the 16 tokens) is one gather from it.
     */
    static void quantizePanel(MemorySegment x, long xStride, int tokens, int k, int p, MemorySegment dst,
                              boolean blockSums) {
        int blocks = k / BLOCK, words = k / 4;
        long table = (long) blocks * QUANT_TILE_BYTES;
        int[] quads = CpuMatmul.intScratch(QUADS, TOKENS * words);
        for (int j = 0; j < TOKENS; j++) {
            int t = p * TOKENS + j;
            if (t >= tokens) {
                Arrays.fill(quads, j * words, (j + 1) * words, 0);
                for (int b = 0; b < blocks; b++) {
                    dst.set(F32, table + TABLE_BYTES * b + 4L * j, 0f);
                    dst.set(F32, table + TABLE_BYTES * b + 64 + 4L * j, 0f);
                }
                continue;
            }
            long row = 4L * t * xStride;
            for (int b = 0; b < blocks; b++) {
                long src = row + 4L * BLOCK * b;
                FloatVector lo = FloatVector.fromMemorySegment(S16, x, src, ByteOrder.nativeOrder());
                FloatVector hi = FloatVector.fromMemorySegment(S16, x, src + 64, ByteOrder.nativeOrder());
                float max = lo.abs().max(hi.abs()).reduceLanes(VectorOperators.MAX);
                float d = max / 127, inverse = d == 0 ? 0 : 1 / d;
                ByteVector qlo = IntegerMatvec.quants(lo, inverse), qhi = IntegerMatvec.quants(hi, inverse);
                int at = j * words + BLOCK / 4 * b;
                qlo.reinterpretAsInts().intoArray(quads, at);
                qhi.reinterpretAsInts().intoArray(quads, at + 4);
                dst.set(F32, table + TABLE_BYTES * b + 4L * j, d);
                if (blockSums) {
                    dst.set(F32, table + TABLE_BYTES * b + 64 + 4L * j, d * (quantSum(qlo) + quantSum(qhi)));
                }
            }
        }
        int[] tokenRows = TOKEN_ROWS.get();
        for (int j = 0; j < TOKENS; j++) tokenRows[j] = j * words;
        for (int i = 0; i < words; i++) {
            IntVector.fromArray(I16, quads, i, tokenRows, 0)
                    .intoMemorySegment(dst, 64L * i, ByteOrder.nativeOrder());
        }
    }

    /** The sum of sixteen signed quants. */
    private static int quantSum(ByteVector q) {
        return ((IntVector) q.convertShape(VectorOperators.B2I, I16, 0)).reduceLanes(VectorOperators.ADD);
    }

    /** The tile kernel's code for {@code scaling}: see the class comment for its arguments. */
    static byte[] tileKernel(Scaling scaling) {
        X86Assembler a = new X86Assembler();
        // rdi w, rsi rowBytes, rdx quants, rcx tokenTable, r8 rowTable, r9 sums,
        // [rsp + 8] workspace, [rsp + 16] runs of unroll() blocks, [rsp + 24] single blocks after them
        a.load64(R11, RSP, 8);
        a.loadTileConfig(R11, CONFIG);
        a.movImmediate(R10, 4 * TOKENS);
        for (int r = 0; r < ROWS; r++) a.xor(r, r, r);
        for (int[] loop : new int[][] {{16, scaling.unroll()}, {24, 1}}) {
            a.load64(RAX, RSP, loop[0]);
            a.testZero(RAX);
            int skip = a.jumpIfZeroForward();
            int top = a.position();
            blocks(a, loop[1], scaling);
            a.decrement(RAX);
            a.jumpIfNotZero(top);
            a.land(skip);
        }
        for (int r = 0; r < ROWS; r++) a.vectorStore(R9, 64 * r, r);
        a.tileRelease();
        a.vzeroupper();
        a.ret();
        return a.toBytes();
    }

    /**
     * {@code count} blocks: first every block's tile products (by halves, two a block), each stored to a buffer of
     * its own, then every product's sums converted and scaled into the accumulators (with {@link Scaling#OFFSETS},
     * plus the rows' offsets times the tokens' block sums); then the pointers past them.
     */
    private static void blocks(X86Assembler a, int count, Scaling scaling) {
        final int tokenScales = 16, sums = 17, scales = 18, tokenSums = 19;
        int halves = scaling == Scaling.HALVES ? 2 : 1;
        if (halves == 1) {
            AmxTiles.blockProducts(a, count, QUANT_TILE_BYTES, R11, 0, SUM_BYTES);
        } else {
            // half h of block u: its 16 bytes of each row against the tokens' tile rows 4h to 4h + 3
            for (int u = 0; u < count; u++) {
                for (int h = 0; h < 2; h++) {
                    int sumsTile = 4 + 2 * u + h;
                    a.tileZero(sumsTile);
                    a.tileLoad(h, RDI, RSI, Q8_0_BYTES * u + BLOCK / 2 * h);
                    a.tileLoad(2 + h, RDX, R10, QUANT_TILE_BYTES * u + QUANT_TILE_BYTES / 2 * h);
                    a.tileDotSignedBytes(sumsTile, h, 2 + h);
                    a.tileStore(R11, R10, SUM_BYTES * (2 * u + h), sumsTile);
                }
            }
        }
        for (int u = 0; u < count; u++) {
            a.vectorLoad(tokenScales, RCX, TABLE_BYTES * u);
            if (scaling == Scaling.OFFSETS) a.vectorLoad(tokenSums, RCX, TABLE_BYTES * u + 64);
            for (int h = 0; h < halves; h++) {
                for (int r = 0; r < ROWS; r++) {
                    a.convertIntsToFloats(sums, R11, SUM_BYTES * (halves * u + h) + 64 * r);
                    a.multiplyBroadcast(scales, tokenScales, R8, TABLE_BYTES * u + 64 * h + 4 * r);
                    a.fusedMultiplyAdd(r, sums, scales);
                    if (scaling == Scaling.OFFSETS) {
                        a.fusedMultiplyAddBroadcast(r, tokenSums, R8, TABLE_BYTES * u + 64 + 4 * r);
                    }
                }
            }
        }
        a.addImmediate(RDI, Q8_0_BYTES * count);
        a.addImmediate(RDX, QUANT_TILE_BYTES * count);
        a.addImmediate(RCX, TABLE_BYTES * count);
        a.addImmediate(R8, TABLE_BYTES * count);
    }
}
