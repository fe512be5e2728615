package io.minference.kernels.flash;

import io.minference.kernels.kvcache.Fp8E4m3;
import io.minference.kernels.kvcache.Fp8Ops;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

import java.util.Objects;

/**
 * Split-K decode for head dims 64 and 128 that reads each key and value row once for all the query heads of its
 * KV head (grouped-query attention), in 16-byte loads: the bandwidth-bound twin of {@link FlashDecode}, with the
 * same parameters, workspace layout and partials, so {@link FlashDecodeCombine} merges either.
 * <p>A warp owns one split of one KV head. Lane l holds dimensions {@code [8c, 8c + 8)}, {@code c = l % (d / 8)},
 * of the {@code group} queries (pre-scaled) and of their output accumulators, and reads key {@code l / (d / 8)} of
 * each pair (d = 128) or quad (d = 64) of keys: a warp load covers {@code 256 / d} rows. {@code unroll} such loads
 * of K, then of V, are issued before any of them is used, so that every lane keeps 2 · unroll 16-byte reads in
 * flight. Scores are reduced across the d / 8 lanes of a row; each lane group keeps its own online softmax per query
 * head over its keys, and the groups are merged by shuffles at the end.
 * <p>Launch: grid {@code (numKvHeads, splitBlocks)}, block {@link #THREADS}; splits {@code splitBlocks *
 * SPLITS_PER_BLOCK}, and partial {@code head * splits + split} as in {@link FlashDecode}.
 * <p>With {@code cacheCodes} the cache is the 8-bit one of {@link io.minference.kernels.kvcache} with codes of that
 * format (e4m3 or int8): {@code k} and {@code v} are the codes (u8 [capacity][numKvHeads d]) and four parameters follow
 * the common ones: {@code kScales}, {@code vScales} (f32 [blocks][numKvHeads]) and {@code kTail}, {@code vTail} (bf16
 * [64][numKvHeads d]). Keys below {@code length} rounded down to a multiple of 64 come from the codes, 8 bytes per
 * lane, decoded in registers with integer operations (e4m3 on sm_90a, when {@link Loop#fp8Instruction}, by
 * {@code cvt.rn.f16x2.e4m3x2}); each score is multiplied by its block's key scale and each probability by its block's
 * value scale. The keys above, the partial block, come from the tail by the same loop body.
 *
 * @param headDim        64 or 128
 * @param group          query heads per KV head, 1 to 8
 * @param lengthOnDevice whether the cache length is read from device memory (see {@link FlashDecode})
 * @param cacheCodes     the code format when K and V are read from an 8-bit cache; null for a bf16 cache
 * @param loop           how the key loop is laid out ({@link DecodeTuning}); its {@code fp8Instruction} is
 *                       false unless the codes are e4m3 (it means nothing for the others)
 */
public record GroupedFlashDecode(int headDim, int group, boolean lengthOnDevice, KvCodes cacheCodes, Loop loop)
        implements KernelDefinition {
    public static final int THREADS = 128;
    public static final int SPLITS_PER_BLOCK = THREADS / 32;

    /**
     * The key loop's layout.
     *
     * @param unroll         warp loads of K (and of V) per step, 1 to 8
     * @param prefetch       whether each step issues the next step's loads before it computes on its own rows
     *                       (twice the registers for rows, twice the bytes in flight)
     * @param fp8Instruction whether e4m3 codes are decoded by the e4m3 conversion instruction where the target has
     *                       it (sm_90a), rather than by integer operations (the same values); int8 codes always
     *                       take integer operations
     */
    public record Loop(int unroll, boolean prefetch, boolean fp8Instruction) {
        public Loop {
            if (unroll < 1 || unroll > 8) {
                throw new IllegalArgumentException("grouped decode unrolls 1 to 8 loads, not " + unroll);
            }
        }

        /** The layout {@code tuning} asks for. */
        public static Loop of(DecodeTuning tuning) {
            return new Loop(tuning.unroll(), tuning.prefetch(), tuning.fp8Instruction());
        }

        String suffix(KvCodes cacheCodes) {
            Loop standard = of(DecodeTuning.DEFAULT);
            return (unroll == standard.unroll ? "" : "_u" + unroll) + (prefetch == standard.prefetch ? ""
                    : prefetch ? "_prefetch" : "_no_prefetch")
                    + (cacheCodes == KvCodes.E4M3 && !fp8Instruction ? "_integer_decode" : "");
        }
    }

    public GroupedFlashDecode {
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("grouped decode takes head dims 64 and 128, not " + headDim);
        }
        if (group < 1 || group > 8) {
            throw new IllegalArgumentException("grouped decode takes 1 to 8 query heads per KV head, not " + group);
        }
        Objects.requireNonNull(loop, "loop");
        if (cacheCodes != KvCodes.E4M3 && loop.fp8Instruction()) {
            loop = new Loop(loop.unroll(), loop.prefetch(), false); // one kernel, one name, whatever the tuning says
        }
    }

    /** A bf16 cache. */
    public GroupedFlashDecode(int headDim, int group, boolean lengthOnDevice) {
        this(headDim, group, lengthOnDevice, null);
    }

    /** The loop that {@link DecodeTuning} configures. */
    public GroupedFlashDecode(int headDim, int group, boolean lengthOnDevice, KvCodes cacheCodes) {
        this(headDim, group, lengthOnDevice, cacheCodes, Loop.of(DecodeTuning.configured()));
    }

    /** True where this kernel serves the shape; {@link FlashDecode} serves the rest. */
    public static boolean supports(int headDim, int group) {
        return (headDim == 64 || headDim == 128) && group >= 1 && group <= 8;
    }

    private int lanesPerRow() {
        return headDim / 8;
    }

    private int rowsPerLoad() {
        return 32 / lanesPerRow();
    }

    /** Keys one step of the loop covers. */
    int keysPerStep() {
        return rowsPerLoad() * loop.unroll();
    }

    @Override
    public String entryName() {
        return "flash_decode_grouped_" + (cacheCodes == null ? "bf16" : cacheCodes.label()) + "_d" + headDim + "_g"
                + group + (lengthOnDevice ? "_length_on_device" : "") + loop.suffix(cacheCodes);
    }

    @Override
    public void define(KernelBuilder k) {
        DecodeSplit d = DecodeSplit.declare(k, headDim, lengthOnDevice, SPLITS_PER_BLOCK);
        k.maxThreadsPerBlock(THREADS);
        k.describe("grouped split-K decode attention, head dim " + headDim + ", " + group
                + " query heads per KV head, 16-byte loads");
        U64 q = d.q(), kCache = d.k(), vCache = d.v(), partials = d.partials();
        U32 numHeads = d.numHeads(), split = d.split(), splits = d.splits();
        F32 scale = d.scale();
        U32 kvRowBytes = d.kvRowBytes(), firstKey = d.firstKey(), endKey = d.endKey();

        int lanes = lanesPerRow();
        U32 lane = k.and(k.threadIdx(), 31).named("lane");
        U32 chunk = k.and(lane, lanes - 1).named("chunk");
        U32 rowInLoad = k.shr(lane, Integer.numberOfTrailingZeros(lanes)).named("rowInLoad");
        U32 kvHead = k.blockIdx(Axis.X).named("kvHead");
        U64 laneBytes = k.add(k.mulWide(kvHead, 2L * headDim), k.mulWide(chunk, 16)).named("laneBytes");
        U64 kLane = k.add(kCache, laneBytes);
        U64 vLane = k.add(vCache, laneBytes);

        F32[][] query = new F32[group][8];
        F32[][] acc = new F32[group][8];
        F32[] max = new F32[group];
        F32[] sum = new F32[group];
        for (int g = 0; g < group; g++) {
            U32 head = k.mad(kvHead, k.u32(group), k.u32(g));
            U64 qRow = k.add(k.add(q, k.mulWide(head, 2L * headDim)), k.mulWide(chunk, 16));
            F32[] values = unpack(k, k.loadB32x4(global(qRow)));
            for (int i = 0; i < 8; i++) {
                query[g][i] = k.mul(values[i], scale);
                acc[g][i] = k.var("acc", k.f32(0));
            }
            max[g] = k.var("runMax", k.f32(Float.NEGATIVE_INFINITY));
            sum[g] = k.var("runSum", k.f32(0));
        }

        if (cacheCodes != null) {
            U64 kScales = k.pointerParam("kScales");
            U64 vScales = k.pointerParam("vScales");
            U64 kTail = k.pointerParam("kTail");
            U64 vTail = k.pointerParam("vTail");
            U32 quantizedEnd = k.and(d.length(), ~(long) (Fp8E4m3.BLOCK_TOKENS - 1) & 0xFFFFFFFFL).named("quantizedEnd");
            U64 codeLane = k.add(k.mulWide(kvHead, headDim), k.mulWide(chunk, 8)).named("codeLane");
            U32 codesRow = k.mul(d.numKvHeads(), headDim).named("codesRow");
            boolean converted = cacheCodes == KvCodes.E4M3 && loop.fp8Instruction() && k.target() == PtxTarget.SM_90A;
            Rows codes = new Rows(k.add(kCache, codeLane), k.add(vCache, codeLane), codesRow,
                    converted ? Rows.Source.CODES_CONVERTED : Rows.Source.CODES, cacheCodes, kScales, vScales,
                    d.numKvHeads(), kvHead);
            Rows tail = Rows.bf16(k.add(kTail, laneBytes), k.add(vTail, laneBytes), kvRowBytes, Rows.Source.TAIL);
            attendKeys(k, firstKey, k.min(endKey, quantizedEnd), rowInLoad, codes, query, acc, max, sum);
            attendKeys(k, k.max(firstKey, quantizedEnd), endKey, rowInLoad, tail, query, acc, max, sum);
        } else {
            Rows rows = Rows.bf16(kLane, vLane, kvRowBytes, Rows.Source.BF16);
            attendKeys(k, firstKey, endKey, rowInLoad, rows, query, acc, max, sum);
        }

        k.comment("merge the row groups' softmax states, then one lane group writes the partials");
        for (int mask = lanes; mask < 32; mask *= 2) {
            for (int g = 0; g < group; g++) {
                F32 otherMax = k.shuffleXor(max[g], mask);
                F32 otherSum = k.shuffleXor(sum[g], mask);
                F32 newMax = k.max(max[g], otherMax);
                F32 shift = finiteOrZero(k, newMax);
                F32 mine = k.ex2(k.sub(max[g], shift));
                F32 theirs = k.ex2(k.sub(otherMax, shift));
                k.set(sum[g], k.mad(sum[g], mine, k.mul(otherSum, theirs)));
                for (int i = 0; i < 8; i++) {
                    F32 other = k.shuffleXor(acc[g][i], mask);
                    k.set(acc[g][i], k.mad(acc[g][i], mine, k.mul(other, theirs)));
                }
                k.set(max[g], newMax);
            }
        }
        k.ifThen(k.eq(rowInLoad, 0), () -> {
            for (int g = 0; g < group; g++) {
                U32 head = k.mad(kvHead, k.u32(group), k.u32(g));
                U32 partial = k.mad(head, splits, split);
                U64 output = k.add(k.add(partials, k.mulWide(partial, 4L * headDim)), k.mulWide(chunk, 32));
                k.storeVector(global(output), acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
                k.storeVector(global(output).plus(16), acc[g][4], acc[g][5], acc[g][6], acc[g][7]);
                U64 stats = k.add(k.add(partials, k.mulWide(k.mul(numHeads, splits), 4L * headDim)),
                        k.mulWide(partial, 8));
                F32 headMax = max[g], headSum = sum[g];
                k.ifThen(k.eq(chunk, 0), () -> k.storeVector(global(stats), headMax, headSum));
            }
        });
    }

    /**
     * The online-softmax loop over keys {@code [from, to)} of this warp's split, from one source of rows: the
     * query heads' running max, sum and accumulators are updated in place. Keys past the range read its last key
     * (always in the cache) and are weighed by 0. With {@link Loop#prefetch} the rows of the first step are loaded
     * before the loop and each step loads the next step's before computing on its own.
     */
    private void attendKeys(KernelBuilder k, U32 from, U32 to, U32 rowInLoad, Rows rows, F32[][] query,
                            F32[][] acc, F32[] max, F32[] sum) {
        U32 lastKey = k.sub(k.max(to, k.u32(1)), 1).named("lastKey");
        if (!loop.prefetch()) {
            k.loop(from, to, keysPerStep(), base -> {
                StepRows step = StepRows.load(k, rows, keys(k, base, rowInLoad), lastKey);
                attendStep(k, rows, step, to, lastKey, query, acc, max, sum);
            });
            return;
        }
        StepRows current = StepRows.load(k, rows, keys(k, from, rowInLoad), lastKey).held(k);
        k.loop(from, to, keysPerStep(), base -> {
            StepRows next = StepRows.load(k, rows, keys(k, k.add(base, keysPerStep()), rowInLoad), lastKey);
            attendStep(k, rows, new StepRows(keys(k, base, rowInLoad), current.k(), current.v()), to, lastKey,
                    query, acc, max, sum);
            current.set(k, next);
        });
    }

    /** The keys lane group {@code rowInLoad} reads in the step from {@code base}: one per warp load. */
    private U32[] keys(KernelBuilder k, U32 base, U32 rowInLoad) {
        U32[] keys = new U32[loop.unroll()];
        for (int u = 0; u < keys.length; u++) keys[u] = k.add(base, k.add(rowInLoad, rowsPerLoad() * u));
        return keys;
    }

    /** One step's keys and this lane's words of their K and V rows, as loaded (not yet unpacked). */
    private record StepRows(U32[] keys, B32[][] k, B32[][] v) {
        static StepRows load(KernelBuilder kb, Rows rows, U32[] keys, U32 lastKey) {
            B32[][] k = new B32[keys.length][];
            B32[][] v = new B32[keys.length][];
            for (int u = 0; u < keys.length; u++) k[u] = rows.load(kb, rows.k(), kb.min(keys[u], lastKey));
            for (int u = 0; u < keys.length; u++) v[u] = rows.load(kb, rows.v(), kb.min(keys[u], lastKey));
            return new StepRows(keys, k, v);
        }

        /** These words in variables that a loop may overwrite with {@link #set}. */
        StepRows held(KernelBuilder kb) {
            return new StepRows(keys, hold(kb, k), hold(kb, v));
        }

        private static B32[][] hold(KernelBuilder kb, B32[][] words) {
            B32[][] held = new B32[words.length][];
            for (int u = 0; u < words.length; u++) {
                held[u] = new B32[words[u].length];
                for (int w = 0; w < words[u].length; w++) held[u][w] = kb.var("row", words[u][w]);
            }
            return held;
        }

        void set(KernelBuilder kb, StepRows next) {
            for (int u = 0; u < k.length; u++) {
                for (int w = 0; w < k[u].length; w++) {
                    kb.set(k[u][w], next.k[u][w]);
                    kb.set(v[u][w], next.v[u][w]);
                }
            }
        }
    }

    /** The online-softmax update of the query heads by one step's loaded rows. */
    private void attendStep(KernelBuilder k, Rows rows, StepRows step, U32 to, U32 lastKey, F32[][] query,
                            F32[][] acc, F32[] max, F32[] sum) {
        int lanes = lanesPerRow();
        int unroll = loop.unroll();
        U32[] keys = step.keys();
        B32[][] kRows = step.k(), vRows = step.v();
        F32[][] keyValues = new F32[unroll][];
        for (int u = 0; u < unroll; u++) keyValues[u] = rows.unpack(k, kRows[u]);
        F32[] keyScales = new F32[unroll];
        F32[] valueScales = new F32[unroll];
        for (int u = 0; u < unroll; u++) {
            keyScales[u] = rows.scale(k, rows.kScales(), k.min(keys[u], lastKey));
            valueScales[u] = rows.scale(k, rows.vScales(), k.min(keys[u], lastKey));
        }
        F32[][] p = new F32[group][unroll];
        for (int g = 0; g < group; g++) {
            F32[] scores = new F32[unroll];
            F32 stepMax = null;
            for (int u = 0; u < unroll; u++) {
                F32 dot = k.mul(query[g][0], keyValues[u][0]);
                for (int i = 1; i < 8; i++) dot = k.mad(query[g][i], keyValues[u][i], dot);
                for (int mask = lanes / 2; mask >= 1; mask /= 2) dot = k.add(dot, k.shuffleXor(dot, mask));
                if (keyScales[u] != null) dot = k.mul(dot, keyScales[u]);
                scores[u] = k.select(k.lt(keys[u], to), dot, k.f32(Float.NEGATIVE_INFINITY));
                stepMax = stepMax == null ? scores[u] : k.max(stepMax, scores[u]);
            }
            F32 newMax = k.max(max[g], stepMax);
            // A lane group with no key yet keeps max -inf; shifting by 0 then keeps its terms 0, not NaN.
            F32 shift = finiteOrZero(k, newMax);
            F32 rescale = k.ex2(k.sub(max[g], shift));
            k.set(max[g], newMax);
            F32 stepSum = null;
            for (int u = 0; u < unroll; u++) {
                p[g][u] = k.ex2(k.sub(scores[u], shift));
                stepSum = stepSum == null ? p[g][u] : k.add(stepSum, p[g][u]);
            }
            k.set(sum[g], k.mad(sum[g], rescale, stepSum));
            for (int i = 0; i < 8; i++) k.set(acc[g][i], k.mul(acc[g][i], rescale));
        }
        for (int u = 0; u < unroll; u++) {
            F32[] values = rows.unpack(k, vRows[u]);
            for (int g = 0; g < group; g++) {
                F32 weight = valueScales[u] == null ? p[g][u] : k.mul(p[g][u], valueScales[u]);
                for (int i = 0; i < 8; i++) k.set(acc[g][i], k.mad(weight, values[i], acc[g][i]));
            }
        }
    }

    /**
     * Where a lane reads its 8 elements of a key or value row ({@code k} and {@code v} already point at the lane's
     * columns): bf16 rows of 16 bytes, at row {@code key} or, for an FP8 cache's tail, at row {@code key mod 64}; or
     * FP8 codes of 8 bytes, with a scale per block and KV head.
     */
    private record Rows(U64 k, U64 v, U32 rowBytes, Source source, KvCodes codes, U64 kScales, U64 vScales,
                        U32 numKvHeads, U32 kvHead) {
        /** bf16 rows, the FP8 cache's bf16 tail, FP8 codes decoded by integer operations or by conversions. */
        enum Source {
            BF16, TAIL, CODES, CODES_CONVERTED;

            boolean codes() {
                return this == CODES || this == CODES_CONVERTED;
            }
        }

        static Rows bf16(U64 k, U64 v, U32 rowBytes, Source source) {
            return new Rows(k, v, rowBytes, source, null, null, null, null, null);
        }

        B32[] load(KernelBuilder kb, U64 lane, U32 key) {
            U32 row = source == Source.TAIL ? kb.and(key, Fp8E4m3.BLOCK_TOKENS - 1) : key;
            U64 at = kb.add(lane, kb.mulWide(row, rowBytes));
            if (!source.codes()) return kb.loadB32x4(global(at));
            F32[] pair = kb.loadF32x2(global(at));
            return new B32[] {kb.bits(pair[0]), kb.bits(pair[1])};
        }

        F32[] unpack(KernelBuilder kb, B32[] words) {
            return switch (source) {
                case CODES -> Fp8Ops.decode(kb, codes, words, false);
                case CODES_CONVERTED -> Fp8Ops.decodeConverted(kb, words);
                case BF16, TAIL -> GroupedFlashDecode.unpack(kb, words);
            };
        }

        /** The key's block scale, or null for bf16 rows. */
        F32 scale(KernelBuilder kb, U64 scales, U32 key) {
            if (!source.codes()) return null;
            U32 index = kb.mad(kb.shr(key, Fp8Ops.BLOCK_SHIFT), numKvHeads, kvHead);
            return kb.loadF32(kb.element(scales, index, 4));
        }
    }

    private static F32 finiteOrZero(KernelBuilder k, F32 max) {
        return k.select(k.eq(max, k.f32(Float.NEGATIVE_INFINITY)), k.f32(0), max);
    }

    /** Eight bf16 values (four packed pairs, low half first) as f32, exactly. */
    private static F32[] unpack(KernelBuilder k, B32[] pairs) {
        F32[] values = new F32[8];
        for (int j = 0; j < 4; j++) {
            values[2 * j] = k.bitsAsF32(k.shl(pairs[j], 16));
            values[2 * j + 1] = k.bitsAsF32(k.and(pairs[j], k.b32(0xFFFF0000)));
        }
        return values;
    }
}
