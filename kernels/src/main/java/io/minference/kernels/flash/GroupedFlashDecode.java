package io.minference.kernels.flash;

import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.KvCodeOps;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvScaleGroup;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * Split-K decode for head dims 64 and 128 that reads each key and value row once for all the query heads of its
 * KV head (grouped-query attention), in 16-byte loads: the bandwidth-bound twin of {@link FlashDecode}, with the
 * same parameters, workspace layout and partials, so {@link FlashDecodeCombine} merges either.
 * <p>A warp owns one split of one KV head. With {@code e = }{@link Loop#laneValues} elements a lane (8, or 16 for
 * up to 4 query heads), lane l holds dimensions {@code [ec, ec + e)}, {@code c = l % (d / e)}, of the {@code group}
 * queries (pre-scaled) and of their output accumulators, and reads key {@code l / (d / e)} of each {@code 32e / d}
 * keys: a warp load covers {@code 32e / d} rows. {@code unroll} such loads of K, then of V, are issued before any of
 * them is used. Scores are reduced across the d / e lanes of a row: by every lane for every head, or, with
 * {@link Loop#headScores}, by a transposed butterfly that leaves each lane one head's score, whose softmax that
 * lane alone runs before it hands the weights to the row's lanes. Each row group keeps its own online softmax per
 * query head over its keys, and the groups are merged by shuffles at the end.
 * <p>Launch: grid {@code (numKvHeads, splitBlocks)}, block {@link #THREADS}; splits {@code splitBlocks *
 * SPLITS_PER_BLOCK}, and partial {@code head * splits + split} as in {@link FlashDecode}.
 * <p>With {@code cacheCodes} the cache is the 8-bit one of {@link io.minference.kernels.kvcache} with codes of that
 * format (e4m3 or int8): {@code k} and {@code v} are the codes (u8 [capacity][numKvHeads d]) and four parameters follow
 * the common ones: {@code kScales} (f32 [blocks][{@link KvScaleGroup#perRow}]: int8 keys a scale per 16 channels,
 * e4m3 keys one per head), {@code vScales} (f32 [blocks][numKvHeads]) and {@code kTail}, {@code vTail} (bf16
 * [64][numKvHeads d]). Keys below {@code length} rounded down to a multiple of 64 come from the codes, e bytes per
 * lane, decoded in registers with integer operations ({@link KvCodeOps#decode}, the recipe {@link Loop#permute} picks;
 * e4m3 on sm_90a, when {@link Loop#fp8Instruction}, by {@code cvt.rn.f16x2.e4m3x2}); each lane's partial dot
 * product is multiplied by its channels' key scale of the block ({@link KvScaleGroup}) before the row's lanes add
 * theirs, and each probability by its block's value scale. The keys above, the partial block, come
 * from the tail by the same loop body.
 *
 * @param headDim        64 or 128
 * @param group          query heads per KV head, 1 to 8
 * @param lengthOnDevice whether the cache length is read from device memory (see {@link FlashDecode})
 * @param cacheCodes     the code format when K and V are read from an 8-bit cache; null for a bf16 cache
 * @param loop           how the key loop is laid out ({@link DecodeTuning}); a knob that means nothing for this
 *                       shape or cache is off ({@code fp8Instruction} unless the codes are e4m3, {@code permute}
 *                       for a bf16 cache, 16 elements a lane past 4 query heads, head scores unless the query heads
 *                       are 4 or 8 and no more than the lanes of a row), so that one kernel has one name
 */
public record GroupedFlashDecode(int headDim, int group, boolean lengthOnDevice, KvCodes cacheCodes, Loop loop)
        implements KernelDefinition {
    public static final int THREADS = 128;
    public static final int SPLITS_PER_BLOCK = THREADS / 32;
    /** The most query heads per KV head whose 16-element lanes fit the registers (queries and accumulators). */
    static final int WIDEST_GROUP = 4;
    /**
     * How far (log2 units) a running max may fall behind the scores before {@link Loop#lazyRescale} rescales: the
     * probabilities stay below 2^8, far from f32's range, over any number of keys a split sees.
     */
    public static final int LAZY_RESCALE_LOG2 = 8;

    /**
     * The key loop's layout.
     *
     * @param unroll         warp loads of K (and of V) per step, 1 to 8
     * @param prefetch       whether each step issues the next step's loads before it computes on its own rows
     *                       (twice the registers for rows, twice the bytes in flight)
     * @param fp8Instruction whether e4m3 codes are decoded by the e4m3 conversion instruction where the target has
     *                       it (sm_90a), rather than by integer operations (the same values); int8 codes always
     *                       take integer operations
     * @param permute        whether the integer operations that decode 8-bit codes are the permute recipe of
     *                       {@link KvCodeOps#decode} rather than its reference shifts (the same values)
     * @param laneValues     row elements per lane, 8 or 16: a row is read by {@code headDim / laneValues} lanes, so
     *                       16 needs one shuffle level fewer per score and twice the FMAs per shuffle
     * @param headScores     whether the row's lanes exchange their partial scores by a transposed butterfly, so that
     *                       each lane ends with one query head's score and runs that head's online softmax alone,
     *                       then hands the probabilities to the row's other lanes by shuffles; otherwise every lane
     *                       reduces every head's score and runs every head's softmax
     * @param lazyRescale    whether the accumulators are rescaled only when some lane's running max grows by more
     *                       than {@value #LAZY_RESCALE_LOG2} (log2 units), in a branch the warp takes as one, rather
     *                       than whenever it grows
     */
    public record Loop(int unroll, boolean prefetch, boolean fp8Instruction, boolean permute, int laneValues,
                       boolean headScores, boolean lazyRescale) {
        public Loop {
            if (unroll < 1 || unroll > 8) {
                throw new IllegalArgumentException("grouped decode unrolls 1 to 8 loads, not " + unroll);
            }
            if (laneValues != 8 && laneValues != 16) {
                throw new IllegalArgumentException("grouped decode lanes hold 8 or 16 elements, not " + laneValues);
            }
        }

        /** The reference layout (shifts, 8 elements a lane, every lane every head) with these settings. */
        public Loop(int unroll, boolean prefetch, boolean fp8Instruction) {
            this(unroll, prefetch, fp8Instruction, false, 8, false, false);
        }

        /** The layout {@code tuning} asks for. */
        public static Loop of(DecodeTuning tuning) {
            return new Loop(tuning.unroll(), tuning.prefetch(), tuning.fp8Instruction(), tuning.permute(),
                    tuning.laneValues(), tuning.headScores(), tuning.lazyRescale());
        }

        /** What sets this layout apart from the reference's, for the entry name (whatever the default is). */
        String suffix(KvCodes cacheCodes) {
            Loop standard = of(DecodeTuning.REFERENCE);
            return (unroll == standard.unroll ? "" : "_u" + unroll) + (prefetch == standard.prefetch ? ""
                    : prefetch ? "_prefetch" : "_no_prefetch")
                    + (cacheCodes == KvCodes.E4M3 && !fp8Instruction ? "_integer_decode" : "")
                    + (permute ? "_permute" : "") + (laneValues == standard.laneValues ? "" : "_v" + laneValues)
                    + (headScores ? "_head_scores" : "") + (lazyRescale ? "_lazy_rescale" : "");
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
        // one kernel, one name, whatever the tuning says: knobs that mean nothing for this shape or cache are off
        boolean fp8Instruction = loop.fp8Instruction() && cacheCodes == KvCodes.E4M3;
        boolean permute = loop.permute() && cacheCodes != null;
        int laneValues = group * loop.laneValues() <= WIDEST_GROUP * 16 ? loop.laneValues() : 8;
        // 2 query heads would save one shuffle a row, and ptxas 13.0 gives those sm_80 kernels a stack frame
        boolean headScores = loop.headScores() && group >= 4 && Integer.bitCount(group) == 1
                && group <= headDim / laneValues;
        loop = new Loop(loop.unroll(), loop.prefetch(), fp8Instruction, permute, laneValues, headScores,
                loop.lazyRescale());
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
        return headDim / loop.laneValues();
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
        int values = loop.laneValues();
        U32 lane = k.and(k.threadIdx(), 31).named("lane");
        U32 chunk = k.and(lane, lanes - 1).named("chunk");
        U32 rowInLoad = k.shr(lane, Integer.numberOfTrailingZeros(lanes)).named("rowInLoad");
        U32 kvHead = k.blockIdx(Axis.X).named("kvHead");
        U64 laneBytes = k.add(k.mulWide(kvHead, 2L * headDim), k.mulWide(chunk, 2L * values)).named("laneBytes");
        U64 kLane = k.add(kCache, laneBytes);
        U64 vLane = k.add(vCache, laneBytes);

        HeadExchange exchange = loop.headScores() ? HeadExchange.of(k, lane, lanes, group) : null;
        F32[][] query = new F32[group][];
        F32[][] acc = new F32[group][values];
        // with head scores a lane keeps the softmax state of its own head only
        F32[] max = new F32[exchange == null ? group : 1];
        F32[] sum = new F32[max.length];
        for (int g = 0; g < group; g++) {
            U32 head = k.mad(kvHead, k.u32(group), k.u32(g));
            U64 qRow = k.add(k.add(q, k.mulWide(head, 2L * headDim)), k.mulWide(chunk, 2L * values));
            query[g] = unpack(k, loadBf16(k, qRow, values));
            for (int i = 0; i < values; i++) {
                query[g][i] = k.mul(query[g][i], scale);
                acc[g][i] = k.var("acc", k.f32(0));
            }
            if (g < max.length) {
                max[g] = k.var("runMax", k.f32(Float.NEGATIVE_INFINITY));
                sum[g] = k.var("runSum", k.f32(0));
            }
        }
        Softmax state = new Softmax(query, acc, max, sum, exchange);

        if (cacheCodes != null) {
            U64 kScales = k.pointerParam("kScales");
            U64 vScales = k.pointerParam("vScales");
            U64 kTail = k.pointerParam("kTail");
            U64 vTail = k.pointerParam("vTail");
            U32 quantizedEnd = k.and(d.length(), ~(long) (CodedBlocks.BLOCK_TOKENS - 1) & 0xFFFFFFFFL)
                    .named("quantizedEnd");
            U64 codeLane = k.add(k.mulWide(kvHead, headDim), k.mulWide(chunk, values)).named("codeLane");
            U32 codesRow = k.mul(d.numKvHeads(), headDim).named("codesRow");
            boolean converted = cacheCodes == KvCodes.E4M3 && loop.fp8Instruction() && k.target() == PtxTarget.SM_90A;
            Rows codes = new Rows(k.add(kCache, codeLane), k.add(vCache, codeLane), codesRow, values,
                    converted ? Rows.Source.CODES_CONVERTED : Rows.Source.CODES,
                    codeScales(k, kScales, vScales, d.numKvHeads(), kvHead, chunk));
            Rows tail = Rows.bf16(k.add(kTail, laneBytes), k.add(vTail, laneBytes), kvRowBytes, values,
                    Rows.Source.TAIL);
            attendKeys(k, firstKey, k.min(endKey, quantizedEnd), rowInLoad, codes, state);
            attendKeys(k, k.max(firstKey, quantizedEnd), endKey, rowInLoad, tail, state);
        } else {
            Rows rows = Rows.bf16(kLane, vLane, kvRowBytes, values, Rows.Source.BF16);
            attendKeys(k, firstKey, endKey, rowInLoad, rows, state);
        }

        if (exchange != null) {
            k.comment("every lane takes each head's softmax state from the lane that kept it");
            F32 ownMax = max[0], ownSum = sum[0];
            max = new F32[group];
            sum = new F32[group];
            for (int g = 0; g < group; g++) {
                max[g] = k.var("runMax", k.shuffleIndex(ownMax, exchange.owner()[g]));
                sum[g] = k.var("runSum", k.shuffleIndex(ownSum, exchange.owner()[g]));
            }
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
                for (int i = 0; i < values; i++) {
                    F32 other = k.shuffleXor(acc[g][i], mask);
                    k.set(acc[g][i], k.mad(acc[g][i], mine, k.mul(other, theirs)));
                }
                k.set(max[g], newMax);
            }
        }
        F32[] finalMax = max, finalSum = sum;
        k.ifThen(k.eq(rowInLoad, 0), () -> {
            for (int g = 0; g < group; g++) {
                U32 head = k.mad(kvHead, k.u32(group), k.u32(g));
                U32 partial = k.mad(head, splits, split);
                U64 output = k.add(k.add(partials, k.mulWide(partial, 4L * headDim)), k.mulWide(chunk, 4L * values));
                for (int i = 0; i < values; i += 4) {
                    k.storeVector(global(output).plus(4L * i), acc[g][i], acc[g][i + 1], acc[g][i + 2],
                            acc[g][i + 3]);
                }
                U64 stats = k.add(k.add(partials, k.mulWide(k.mul(numHeads, splits), 4L * headDim)),
                        k.mulWide(partial, 8));
                F32 headMax = finalMax[g], headSum = finalSum[g];
                k.ifThen(k.eq(chunk, 0), () -> k.storeVector(global(stats), headMax, headSum));
            }
        });
    }

    /** This lane's scales in an 8-bit cache ({@link Rows.Codes}). */
    private Rows.Codes codeScales(KernelBuilder k, U64 kScales, U64 vScales, U32 numKvHeads, U32 kvHead, U32 chunk) {
        int perHead = KvScaleGroup.KEYS.perHead(cacheCodes, headDim);
        int channels = KvScaleGroup.KEYS.channels(cacheCodes, headDim);
        // a lane's elements (8 or 16 of a row, from a multiple of their count) lie in one group of key channels
        U32 laneScale = k.mad(kvHead, k.u32(perHead),
                k.shr(k.mul(chunk, loop.laneValues()), Integer.numberOfTrailingZeros(channels)));
        return new Rows.Codes(cacheCodes, loop.permute(), k.add(kScales, k.mulWide(laneScale, 4)).named("kScaleLane"),
                k.mul(numKvHeads, perHead).named("keyScalesPerBlock"),
                k.add(vScales, k.mulWide(kvHead, 4)).named("vScaleHead"), numKvHeads);
    }

    /**
     * The query heads' state in the key loop: their pre-scaled queries and accumulators (this lane's elements), and
     * the running max and sum of each head's online softmax (with head scores, of this lane's own head alone).
     */
    private record Softmax(F32[][] query, F32[][] acc, F32[] max, F32[] sum, HeadExchange exchange) {
    }

    /**
     * How the lanes of a row share out the query heads with head scores: at exchange level j (j = 0 first, lane
     * mask {@code lanes >> (j + 1)}) the lanes whose mask bit is set keep the upper half of the heads still held
     * ({@code upper[j]}), so head g ends in the lanes at offset {@code g * lanes / group} of the row (and its
     * neighbours that the plain levels after the exchange pair with it); {@code owner[g]} is that lane's index.
     */
    private record HeadExchange(Pred[] upper, U32[] owner) {
        static HeadExchange of(KernelBuilder k, U32 lane, int lanes, int group) {
            int levels = Integer.numberOfTrailingZeros(group);
            Pred[] upper = new Pred[levels];
            for (int j = 0; j < levels; j++) upper[j] = k.ne(k.and(lane, lanes >> (j + 1)), k.u32(0));
            U32 rowLane = k.and(lane, ~(long) (lanes - 1) & 0xFFFFFFFFL).named("rowLane");
            U32[] owner = new U32[group];
            for (int g = 0; g < group; g++) owner[g] = k.add(rowLane, (long) g * (lanes / group)).named("owner");
            return new HeadExchange(upper, owner);
        }

        /**
         * This lane's head's score from each head's partial dot over this lane's elements: the transposed butterfly
         * (a lane sends the half of its values it gives up and adds what it gets to the half it keeps, so each
         * level sends half as many values as the last), then plain butterfly levels over the lanes left.
         */
        F32 score(KernelBuilder k, F32[] dots, int lanes) {
            F32[] held = dots;
            int mask = lanes / 2;
            for (int j = 0; j < upper.length; j++, mask /= 2) {
                int half = held.length / 2;
                F32[] kept = new F32[half];
                for (int g = 0; g < half; g++) {
                    F32 send = k.select(upper[j], held[g], held[g + half]);
                    F32 keep = k.select(upper[j], held[g + half], held[g]);
                    kept[g] = k.add(keep, k.shuffleXor(send, mask));
                }
                held = kept;
            }
            F32 score = held[0];
            for (; mask >= 1; mask /= 2) score = k.add(score, k.shuffleXor(score, mask));
            return score;
        }
    }

    /**
     * The online-softmax loop over keys {@code [from, to)} of this warp's split, from one source of rows: the
     * query heads' running max, sum and accumulators are updated in place. Keys past the range read its last key
     * (always in the cache) and are weighed by 0. With {@link Loop#prefetch} the rows of the first step are loaded
     * before the loop and each step loads the next step's before computing on its own.
     */
    private void attendKeys(KernelBuilder k, U32 from, U32 to, U32 rowInLoad, Rows rows, Softmax state) {
        U32 lastKey = k.sub(k.max(to, k.u32(1)), 1).named("lastKey");
        if (!loop.prefetch()) {
            k.loop(from, to, keysPerStep(), base -> {
                StepRows step = StepRows.load(k, rows, keys(k, base, rowInLoad), lastKey);
                attendStep(k, rows, step, to, lastKey, state);
            });
            return;
        }
        StepRows current = StepRows.load(k, rows, keys(k, from, rowInLoad), lastKey).held(k);
        k.loop(from, to, keysPerStep(), base -> {
            StepRows next = StepRows.load(k, rows, keys(k, k.add(base, keysPerStep()), rowInLoad), lastKey);
            attendStep(k, rows, new StepRows(keys(k, base, rowInLoad), current.k(), current.v()), to, lastKey, state);
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
    private void attendStep(KernelBuilder k, Rows rows, StepRows step, U32 to, U32 lastKey, Softmax state) {
        int unroll = loop.unroll();
        U32[] keys = step.keys();
        B32[][] kRows = step.k(), vRows = step.v();
        F32[][] keyValues = new F32[unroll][];
        for (int u = 0; u < unroll; u++) keyValues[u] = rows.unpack(k, kRows[u]);
        F32[] keyScales = new F32[unroll];
        F32[] valueScales = new F32[unroll];
        for (int u = 0; u < unroll; u++) {
            keyScales[u] = rows.keyScale(k, k.min(keys[u], lastKey));
            valueScales[u] = rows.valueScale(k, k.min(keys[u], lastKey));
        }
        F32[][] weights = state.exchange() == null
                ? laneSoftmax(k, keyValues, keyScales, keys, to, state)
                : headSoftmax(k, keyValues, keyScales, valueScales, keys, to, state);
        // head scores hand out weights with the value scales applied; lane scores apply them here
        boolean scaled = state.exchange() != null || valueScales[0] == null;
        for (int u = 0; u < unroll; u++) {
            F32[] values = rows.unpack(k, vRows[u]);
            for (int g = 0; g < group; g++) {
                F32 weight = scaled ? weights[g][u] : k.mul(weights[g][u], valueScales[u]);
                for (int i = 0; i < values.length; i++) {
                    k.set(state.acc()[g][i], k.mad(weight, values[i], state.acc()[g][i]));
                }
            }
        }
    }

    /**
     * This lane's partial dot of head g's query with one key row (its elements only), times the lane's key scale
     * of the row's block (codes; the lane's elements share one, {@link KvScaleGroup}).
     */
    private static F32 partialDot(KernelBuilder k, F32[] query, F32[] key, F32 keyScale) {
        F32 dot = k.mul(query[0], key[0]);
        for (int i = 1; i < key.length; i++) dot = k.mad(query[i], key[i], dot);
        return keyScale == null ? dot : k.mul(dot, keyScale);
    }

    /** A key's score, or -inf past the range. */
    private static F32 score(KernelBuilder k, F32 dot, U32 key, U32 to) {
        return k.select(k.lt(key, to), dot, k.f32(Float.NEGATIVE_INFINITY));
    }

    /**
     * Every lane reduces every head's scores and runs every head's softmax: the accumulators are rescaled, and the
     * weights of the step's value rows returned ([head][load], without the block value scales).
     */
    private F32[][] laneSoftmax(KernelBuilder k, F32[][] keyValues, F32[] keyScales, U32[] keys, U32 to,
                                Softmax state) {
        int unroll = keys.length;
        F32[][] weights = new F32[group][unroll];
        for (int g = 0; g < group; g++) {
            F32[] scores = new F32[unroll];
            F32 stepMax = null;
            for (int u = 0; u < unroll; u++) {
                F32 dot = partialDot(k, state.query()[g], keyValues[u], keyScales[u]);
                for (int mask = lanesPerRow() / 2; mask >= 1; mask /= 2) dot = k.add(dot, k.shuffleXor(dot, mask));
                scores[u] = score(k, dot, keys[u], to);
                stepMax = stepMax == null ? scores[u] : k.max(stepMax, scores[u]);
            }
            F32[] acc = state.acc()[g];
            F32[] p = update(k, scores, stepMax, state.max()[g], state.sum()[g], factor -> {
                for (F32 a : acc) k.set(a, k.mul(a, factor));
            });
            System.arraycopy(p, 0, weights[g], 0, unroll);
        }
        return weights;
    }

    /**
     * Each lane reduces its own head's scores by the transposed butterfly and runs that head's softmax; the rescale
     * and the weights (value scales applied once, by the owner) go to the row's other lanes by shuffles.
     */
    private F32[][] headSoftmax(KernelBuilder k, F32[][] keyValues, F32[] keyScales, F32[] valueScales, U32[] keys,
                                U32 to, Softmax state) {
        int unroll = keys.length;
        F32[] scores = new F32[unroll];
        F32 stepMax = null;
        for (int u = 0; u < unroll; u++) {
            F32[] dots = new F32[group];
            for (int g = 0; g < group; g++) dots[g] = partialDot(k, state.query()[g], keyValues[u], keyScales[u]);
            scores[u] = score(k, state.exchange().score(k, dots, lanesPerRow()), keys[u], to);
            stepMax = stepMax == null ? scores[u] : k.max(stepMax, scores[u]);
        }
        U32[] owners = state.exchange().owner();
        F32[] p = update(k, scores, stepMax, state.max()[0], state.sum()[0], factor -> {
            for (int g = 0; g < group; g++) {
                F32 headFactor = k.shuffleIndex(factor, owners[g]);
                for (F32 a : state.acc()[g]) k.set(a, k.mul(a, headFactor));
            }
        });
        F32[] own = new F32[unroll];
        for (int u = 0; u < unroll; u++) own[u] = valueScales[u] == null ? p[u] : k.mul(p[u], valueScales[u]);
        F32[][] weights = new F32[group][unroll];
        for (int g = 0; g < group; g++) {
            for (int u = 0; u < unroll; u++) weights[g][u] = k.shuffleIndex(own[u], owners[g]);
        }
        return weights;
    }

    /**
     * One head's online-softmax step over {@code scores} (whose largest is {@code stepMax}): max and sum updated in
     * place, the accumulators rescaled by {@code rescale} (given the factor); returns the probabilities of the
     * scores. With {@link Loop#lazyRescale} the max is raised, and the accumulators rescaled, only when it would
     * grow by more than {@value #LAZY_RESCALE_LOG2} in some lane of the warp (every lane then raises its own).
     */
    private F32[] update(KernelBuilder k, F32[] scores, F32 stepMax, F32 max, F32 sum, Consumer<F32> rescale) {
        if (!loop.lazyRescale()) {
            F32 newMax = k.max(max, stepMax);
            // A lane group with no key yet keeps max -inf; shifting by 0 then keeps its terms 0, not NaN.
            F32 shift = finiteOrZero(k, newMax);
            F32 factor = k.ex2(k.sub(max, shift));
            k.set(max, newMax);
            F32[] p = probabilities(k, scores, shift);
            k.set(sum, k.mad(sum, factor, p[scores.length]));
            rescale.accept(factor);
            return p;
        }
        // (-inf) - (-inf) is NaN, which is not greater: a lane with no key yet asks nothing
        Pred grows = k.gt(k.sub(stepMax, max), k.f32(LAZY_RESCALE_LOG2));
        k.ifThen(k.any(grows), () -> {
            F32 newMax = k.max(max, stepMax);
            F32 factor = k.ex2(k.sub(max, finiteOrZero(k, newMax)));
            k.set(max, newMax);
            k.set(sum, k.mul(sum, factor));
            rescale.accept(factor);
        });
        F32[] p = probabilities(k, scores, finiteOrZero(k, max));
        k.set(sum, k.add(sum, p[scores.length]));
        return p;
    }

    /** The scores' probabilities against {@code shift}, then (last) their sum. */
    private static F32[] probabilities(KernelBuilder k, F32[] scores, F32 shift) {
        F32[] p = new F32[scores.length + 1];
        for (int u = 0; u < scores.length; u++) {
            p[u] = k.ex2(k.sub(scores[u], shift));
            p[scores.length] = u == 0 ? p[0] : k.add(p[scores.length], p[u]);
        }
        return p;
    }

    /**
     * Where a lane reads its {@code values} elements of a key or value row ({@code k} and {@code v} already point at
     * the lane's columns): bf16 rows, in 16-byte loads, at row {@code key} or, for an 8-bit cache's tail, at row
     * {@code key mod 64}; or 8-bit codes (one 8- or 16-byte load), with their block's scales.
     *
     * @param codes how the 8-bit codes decode and where their scales are; null for bf16 rows
     */
    private record Rows(U64 k, U64 v, U32 rowBytes, int values, Source source, Codes codes) {
        /**
         * An 8-bit cache's codes: their format, the integer recipe that decodes them ({@link KvCodeOps#decode}), and
         * where this lane's scales are: {@code kScales} at block 0's key scale of the lane's channels, a row of
         * {@code keyScalesPerBlock} floats a block; {@code vScales} at block 0's value scale of the warp's KV head,
         * {@code numKvHeads} floats a block ({@link KvScaleGroup}).
         */
        record Codes(KvCodes format, boolean permute, U64 kScales, U32 keyScalesPerBlock, U64 vScales,
                     U32 numKvHeads) {
        }

        /** bf16 rows, the 8-bit cache's bf16 tail, codes decoded by integer operations or by conversions. */
        enum Source {
            BF16, TAIL, CODES, CODES_CONVERTED;

            boolean codes() {
                return this == CODES || this == CODES_CONVERTED;
            }
        }

        static Rows bf16(U64 k, U64 v, U32 rowBytes, int values, Source source) {
            return new Rows(k, v, rowBytes, values, source, null);
        }

        B32[] load(KernelBuilder kb, U64 lane, U32 key) {
            U32 row = source == Source.TAIL ? kb.and(key, CodedBlocks.BLOCK_TOKENS - 1) : key;
            U64 at = kb.add(lane, kb.mulWide(row, rowBytes));
            if (!source.codes()) return loadBf16(kb, at, values);
            if (values == 16) return kb.loadB32x4(global(at));
            F32[] pair = kb.loadF32x2(global(at));
            return new B32[] {kb.bits(pair[0]), kb.bits(pair[1])};
        }

        F32[] unpack(KernelBuilder kb, B32[] words) {
            return switch (source) {
                case CODES -> KvCodeOps.decode(kb, codes.format(), words, codes.permute());
                case CODES_CONVERTED -> KvCodeOps.decodeConverted(kb, words);
                case BF16, TAIL -> GroupedFlashDecode.unpack(kb, words);
            };
        }

        /** The key scale of this lane's channels in the key's block, or null for bf16 rows. */
        F32 keyScale(KernelBuilder kb, U32 key) {
            return codes == null ? null : scale(kb, codes.kScales(), codes.keyScalesPerBlock(), key);
        }

        /** The value scale of the key's block, or null for bf16 rows. */
        F32 valueScale(KernelBuilder kb, U32 key) {
            return codes == null ? null : scale(kb, codes.vScales(), codes.numKvHeads(), key);
        }

        private static F32 scale(KernelBuilder kb, U64 scales, U32 perBlock, U32 key) {
            return kb.loadF32(kb.element(scales, kb.mul(kb.shr(key, KvCodeOps.BLOCK_SHIFT), perBlock), 4));
        }
    }

    private static F32 finiteOrZero(KernelBuilder k, F32 max) {
        return k.select(k.eq(max, k.f32(Float.NEGATIVE_INFINITY)), k.f32(0), max);
    }

    /** {@code values} bf16 elements from {@code at} (16-byte aligned), in 16-byte loads, as packed pairs. */
    private static B32[] loadBf16(KernelBuilder k, U64 at, int values) {
        B32[] words = new B32[values / 2];
        for (int j = 0; j < values / 8; j++) {
            System.arraycopy(k.loadB32x4(global(at).plus(16L * j)), 0, words, 4 * j, 4);
        }
        return words;
    }

    /** bf16 values (packed pairs, low half first) as f32, exactly. */
    private static F32[] unpack(KernelBuilder k, B32[] pairs) {
        F32[] values = new F32[2 * pairs.length];
        for (int j = 0; j < pairs.length; j++) {
            values[2 * j] = k.bitsAsF32(k.shl(pairs[j], 16));
            values[2 * j + 1] = k.bitsAsF32(k.and(pairs[j], k.b32(0xFFFF0000)));
        }
        return values;
    }
}
