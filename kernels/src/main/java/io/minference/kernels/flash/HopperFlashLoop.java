package io.minference.kernels.flash;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.MatrixDescriptor;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.AccumulatorTile;
import io.minference.ptx.tile.OnlineSoftmax;
import io.minference.ptx.tile.WgmmaTile;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;

import static io.minference.ptx.dsl.Address.global;

/**
 * The flash key loop of the Hopper prefill kernels (sm_90a), FlashAttention-3's design, shared by the dense and the
 * sparse kernel: they differ only in their {@link HopperKeySource}.
 * <p>A block runs one producer warpgroup (shrunk with setmaxnreg to what its source needs,
 * {@link HopperKeySource#producerRegisters()}) and {@code consumers} consumer warpgroups (grown to what is left,
 * {@link #consumerRegisters}) of 64 query rows each; one block per SM with two consumers, two with one. The producer
 * loads the Q block once with TMA, then for each key step fills the next stage of a ring of {@code stages}
 * 128-byte-swizzled K and V tiles as the source says; each stage has a full barrier (the source's arrivals and TMA
 * bytes) and an empty barrier (every consumer thread's arrival). Each consumer warpgroup computes S = Q Kᵀ with wgmma
 * (Q and K from shared memory), the source's mask, the online softmax in registers ({@link OnlineSoftmax}), then
 * O += P V with P from registers and V transposed from shared memory, issues the next step's S right behind it so
 * that the tensor cores take both back to back, and releases the stage. Consumer warpgroups run unsynchronised, so
 * one's softmax overlaps another's GEMMs. The epilogue writes O / l as bf16 (zeros for a row that saw no key).
 *
 * @param headDim   64 or 128
 * @param consumers consumer warpgroups, 1 or 2 (64 query rows each)
 * @param blockN    keys per step, a multiple of 16 up to 256
 * @param stages    depth of the K/V ring, at least 2
 * @param schedule  how the consumers order their work ({@link Schedule})
 */
public record HopperFlashLoop(int headDim, int consumers, int blockN, int stages, Schedule schedule) {
    /**
     * How the consumers order their work, beyond the plain loop (S of the next step issued behind P V, the softmax
     * once both are done).
     *
     * @param pingPong       the two consumer warpgroups take turns issuing their GEMMs (FlashAttention-3's ping-pong:
     *                       named barriers 1 and 2 hand the turn over after each issue), so that one's softmax runs
     *                       while the other's GEMMs do, instead of leaving the overlap to chance
     * @param overlapSoftmax within a warpgroup, the softmax of step t runs while P V of step t - 1 does
     *                       (FlashAttention-3's intra-warpgroup overlap): S of t is issued before that P V, waited for
     *                       alone, and the accumulator's rescale deferred to the next step; P is double-buffered in
     *                       registers. Wants 3 stages, since a stage is held one step longer.
     * @param lazyRescale    the accumulator is rescaled only in the steps where some row of the warp has a new
     *                       maximum ({@link OnlineSoftmax#rescale(KernelBuilder, AccumulatorTile, F32[], boolean)}):
     *                       the same bits, fewer products
     */
    public record Schedule(boolean pingPong, boolean overlapSoftmax, boolean lazyRescale) {
        public static final Schedule PLAIN = new Schedule(false, false, false);

        /** Rescaling every step. */
        public Schedule(boolean pingPong, boolean overlapSoftmax) {
            this(pingPong, overlapSoftmax, false);
        }

        /** The entry-name suffix: empty, or {@code _pingpong}, {@code _overlap}, {@code _lazy} in that order. */
        public String suffix() {
            return (pingPong ? "_pingpong" : "") + (overlapSoftmax ? "_overlap" : "") + (lazyRescale ? "_lazy" : "");
        }

        /**
         * The schedule a setting names: {@code plain}, or a comma-separated list of {@code pingpong},
         * {@code overlap} and {@code lazy}; anything else is an error naming it.
         */
        public static Schedule parse(String setting) {
            List<String> options = new ArrayList<>();
            for (String option : setting.split(",")) {
                String name = option.trim().toLowerCase(Locale.ROOT);
                if (!List.of("plain", "pingpong", "overlap", "lazy").contains(name)) {
                    throw new IllegalArgumentException("a Hopper schedule is plain or a comma-separated list of"
                            + " pingpong, overlap and lazy, not '" + setting + "'");
                }
                options.add(name);
            }
            return new Schedule(options.contains("pingpong"), options.contains("overlap"), options.contains("lazy"));
        }
    }

    private static final int REGISTER_FILE = 65536;
    /** Shared memory of a Hopper SM, and the most one block may have. */
    static final int SM_SHARED_BYTES = 228 * 1024;
    static final int BLOCK_SHARED_BYTES = 227 * 1024;
    private static final int CONSUMER_ROWS = 64;

    /** The plain loop. */
    public HopperFlashLoop(int headDim, int consumers, int blockN, int stages) {
        this(headDim, consumers, blockN, stages, Schedule.PLAIN);
    }

    public HopperFlashLoop {
        if (schedule.pingPong() && consumers != 2) {
            throw new IllegalArgumentException("ping-pong scheduling takes turns between two consumer warpgroups, not "
                    + consumers);
        }
        if (headDim != 64 && headDim != 128) {
            throw new IllegalArgumentException("the Hopper prefill handles head dims 64 and 128, not " + headDim);
        }
        if (consumers != 1 && consumers != 2) {
            throw new IllegalArgumentException("the Hopper prefill runs 1 or 2 consumer warpgroups, not " + consumers);
        }
        if (blockN % 16 != 0 || blockN < 16 || blockN > 256 || stages < 2) {
            throw new IllegalArgumentException("need blockN a multiple of 16 in 16..256 and stages >= 2; got " + blockN
                    + " keys, " + stages + " stages");
        }
    }

    /** Query rows per block. */
    public int blockM() {
        return CONSUMER_ROWS * consumers;
    }

    /** One producer and {@code consumers} consumer warpgroups. */
    public int threads() {
        return 128 * (1 + consumers);
    }

    /** Blocks sharing an SM: one of two consumers (its shared memory is most of the SM's), two of one. */
    public int blocksPerSm() {
        return consumers == 2 ? 1 : 2;
    }

    /**
     * Registers a consumer thread grows to with setmaxnreg: the block's share of the register file less the
     * producer's {@code producerRegisters}, split over the consumer threads, a multiple of 8, at most 240 (240 with
     * two consumers and a 24-register producer).
     */
    int consumerRegisters(int producerRegisters) {
        int perBlock = REGISTER_FILE / blocksPerSm();
        return Math.min(240, (perBlock - producerRegisters * 128) / (128 * consumers) / 8 * 8);
    }

    private int tileBytes(int rows) {
        return rows * headDim * 2;
    }

    /** A stage's K and V tiles: a multiple of 1024 bytes, so every tile starts where the swizzle pattern does. */
    private int stageBytes() {
        return 2 * tileBytes(blockN);
    }

    private int barrierBytes() {
        return (1 + 2 * stages) * MBarrier.BYTES;
    }

    /**
     * Dynamic shared memory of a kernel whose source keeps {@code metadataBytes} per stage: the Q tile, the ring of
     * K and V tiles, the stages' metadata, then the barriers (in the dynamic window, so that no static array pads
     * the 1024-byte-aligned window).
     */
    public int sharedBytes(int metadataBytes) {
        return tileBytes(blockM()) + stages * (stageBytes() + metadataBytes) + barrierBytes();
    }

    /**
     * Rejects a shape whose blocks would not fit an SM {@link #blocksPerSm()} times (228 KiB, of which the system
     * keeps 1 KiB per block), naming it.
     */
    public void checkSharedMemory(int metadataBytes) {
        int perSm = blocksPerSm() * (sharedBytes(metadataBytes) + 1024);
        if (perSm > SM_SHARED_BYTES || sharedBytes(metadataBytes) > BLOCK_SHARED_BYTES) {
            throw new IllegalArgumentException("d " + headDim + " with " + blockN + "-key tiles in " + stages
                    + " stages needs " + perSm + " bytes of shared memory for " + blocksPerSm()
                    + " block(s) per SM, more than the " + SM_SHARED_BYTES + " a Hopper SM has");
        }
    }

    /**
     * Where this block's queries and output are.
     *
     * @param queries       the Q map ({@code TensorMap.headRows}, box {@link #blockM()} rows)
     * @param head          the query head: the Q map's head coordinate and O's head
     * @param firstRow      the block's first query row (Q map row, O row)
     * @param rowsHere      valid rows of the block (the rest are computed and dropped)
     * @param firstPosition the sequence position of the first row
     * @param out           O's base, {@code [rows, numHeads, headDim]} bf16
     * @param numHeads      O's heads per row
     * @param scale         1/sqrt(d) * log2 e
     */
    public record Block(TensorMapParam queries, U32 head, U32 firstRow, U32 rowsHere, U32 firstPosition, U64 out,
                        U32 numHeads, F32 scale) {
    }

    /** Emits the loop for {@code block} over the steps of {@code source}: barriers, producer, consumers, epilogue. */
    public void emit(KernelBuilder k, Block block, HopperKeySource source) {
        k.maxThreadsPerBlock(threads());
        k.minBlocksPerSm(blocksPerSm());
        int metadataBytes = source.metadataBytes();
        if (metadataBytes % 16 != 0) {
            throw new IllegalArgumentException("stage metadata must be a multiple of 16 bytes, got " + metadataBytes);
        }
        U32 tid = k.threadIdx();
        U32 smem = k.dynamicShared(sharedBytes(metadataBytes), 1024);
        WgmmaTile queries = new WgmmaTile(smem, blockM(), headDim);
        U32 ring = k.add(smem, tileBytes(blockM())).named("ring");
        U32 metadata = k.add(ring, stages * stageBytes()).named("metadata");
        U32 barriers = k.add(metadata, stages * metadataBytes).named("barriers");
        MBarrier queryLoaded = new MBarrier(barriers);
        Function<U32, HopperKeySource.Stage> stageOf = index -> {
            U32 stage = k.rem(index, stages).named("stage");
            U32 address = k.mad(stage, k.u32(stageBytes()), ring).named("stageAddress");
            return new HopperKeySource.Stage(new WgmmaTile(address, blockN, headDim),
                    new WgmmaTile(k.add(address, tileBytes(blockN)), blockN, headDim), barrier(k, barriers, 1, stage),
                    k.mad(stage, k.u32(metadataBytes), metadata));
        };

        k.comment("barriers: Q loaded; per stage, full (producer arrivals and TMA bytes) and empty (every consumer)");
        k.ifThen(k.eq(tid, 0), () -> {
            k.initBarrier(queryLoaded, 1);
            for (int s = 0; s < stages; s++) {
                k.initBarrier(barrier(k, barriers, 1, k.u32(s)), source.producerArrivals());
                k.initBarrier(barrier(k, barriers, 1 + stages, k.u32(s)), 128 * consumers);
            }
            k.fenceBarrierInit();
        });
        k.barrier();

        U32 warpgroup = k.shr(tid, 7).named("warpgroup");
        k.ifElse(k.eq(warpgroup, 0), () -> {
            k.comment("producer");
            k.decreaseRegisters(source.producerRegisters());
            k.ifThen(k.eq(tid, 0), () -> {
                k.arriveExpectingBytes(queryLoaded, queries.bytes());
                queries.load(k, block.queries(), queryLoaded, block.head(), block.firstRow());
            });
            k.ifThen(k.lt(tid, source.producerThreads()), () -> {
                source.startProducer(k);
                U32 steps = source.steps(k);
                k.loop(k.u32(0), steps, 1, step -> {
                    U32 round = k.div(step, stages);
                    k.waitPhase(barrier(k, barriers, 1 + stages, k.rem(step, stages)), k.xor(k.and(round, 1), 1));
                    source.load(k, tid, step, stageOf.apply(step));
                });
            });
        }, () -> consume(k, tid, warpgroup, queries, barriers, queryLoaded, stageOf, source, block));
    }

    /**
     * The steps with the softmax of step t overlapping P V of step t - 1 ({@link Schedule#overlapSoftmax}), in
     * FlashAttention-3's order; S of step 0 has been issued and waited for. Iteration t issues S(t), rescales O by
     * the factor step t - 1 left, issues P(t - 1) V(t - 1), waits for S(t) alone, masks it and folds it in place
     * (probabilities over the scores, the rescale deferred) while that P V runs, then waits for it, releases stage
     * t - 1 and only then packs the new probabilities into the P registers the product was reading.
     */
    private void overlappedSteps(KernelBuilder k, Function<U32, HopperKeySource.Stage> stageOf, HopperKeySource source,
                                 U32 barriers, WarpgroupAccumulator scores, WarpgroupAccumulator out,
                                 OnlineSoftmax softmax, U32 rowPosition, U32 pair, U32 lastStep, U32 firstMasked,
                                 Consumer<U32> issueScores, Runnable awaitTurn, Runnable passTurn) {
        k.comment("step 0's softmax (masked: exact, whatever the source says)");
        source.mask(k, k.u32(0), stageOf.apply(k.u32(0)), scores, rowPosition, pair);
        F32[] firstRescale = softmax.foldInPlace(k, AccumulatorTile.of(scores.fragments()));
        List<Bf16x2> probabilities = new ArrayList<>();
        for (FragmentA<Bf16x2> fragment : OnlineSoftmax.pack(k, AccumulatorTile.of(scores.fragments()))) {
            for (Bf16x2 value : fragment.regs()) {
                probabilities.add(k.var("p", value));
            }
        }
        F32[] rescale = {k.var("rescale", firstRescale[0]), k.var("rescale", firstRescale[1])};
        // O is rescaled and P written before the fence that opens the product's wgmmas: a register written between
        // issue and wait of a wgmma that reads it would serialise the pipeline (advisory C7513)
        Consumer<U32> issueProduct = index -> {
            HopperKeySource.Stage stage = stageOf.apply(index);
            MatrixDescriptor valueBase = stage.values().mnMajorBase(k);
            OnlineSoftmax.rescale(k, AccumulatorTile.of(out.fragments()), rescale, schedule.lazyRescale());
            k.wgmmaFence();
            for (int j = 0; j < probabilities.size() / 4; j++) {
                k.wgmma(out, new FragmentA<>(probabilities.subList(4 * j, 4 * j + 4)),
                        stage.values().mnMajor(k, valueBase, j), true, true);
            }
            k.wgmmaCommit();
        };
        StepBody step = (index, masked, unused) -> {
            U32 before = k.sub(index, 1);
            awaitTurn.run();
            issueScores.accept(index);
            issueProduct.accept(before);
            passTurn.run();
            k.wgmmaWait(1);
            if (masked) {
                source.mask(k, index, stageOf.apply(index), scores, rowPosition, pair);
            }
            F32[] next = softmax.foldInPlace(k, AccumulatorTile.of(scores.fragments()));
            k.set(rescale[0], next[0]);
            k.set(rescale[1], next[1]);
            k.wgmmaWait(0);
            k.arrive(barrier(k, barriers, 1 + stages, k.rem(before, stages)));
            int i = 0;
            for (FragmentA<Bf16x2> fragment : OnlineSoftmax.pack(k, AccumulatorTile.of(scores.fragments()))) {
                for (Bf16x2 value : fragment.regs()) {
                    k.set(probabilities.get(i++), value);
                }
            }
        };
        U32 steps = k.add(lastStep, 1);
        U32 maskedFrom = k.max(firstMasked, k.u32(1));
        k.comment("overlapped steps every row sees whole");
        k.loop(k.u32(1), maskedFrom, 1, index -> step.run(index, false, true));
        k.comment("overlapped steps the source masks");
        k.loop(maskedFrom, steps, 1, index -> step.run(index, true, true));
        k.comment("P V of the last step");
        awaitTurn.run();
        issueProduct.accept(lastStep);
        passTurn.run();
        k.wgmmaWait(0);
        k.arrive(barrier(k, barriers, 1 + stages, k.rem(lastStep, stages)));
    }

    /** Barrier {@code first + stage} of the array: the Q barrier is 0, full ones 1.., empty ones 1 + stages... */
    private static MBarrier barrier(KernelBuilder k, U32 barriers, int first, U32 stage) {
        return new MBarrier(k.mad(stage, k.u32(MBarrier.BYTES), k.add(barriers, first * MBarrier.BYTES)));
    }

    /** One consumer key step, emitted three times: unmasked in a loop, masked in a loop, and the last one. */
    @FunctionalInterface
    private interface StepBody {
        void run(U32 index, boolean masked, boolean issueNext);
    }

    private void consume(KernelBuilder k, U32 tid, U32 warpgroup, WgmmaTile queries, U32 barriers,
                         MBarrier queryLoaded, Function<U32, HopperKeySource.Stage> stageOf, HopperKeySource source,
                         Block block) {
        k.comment("consumers: 64 query rows per warpgroup");
        k.increaseRegisters(consumerRegisters(source.producerRegisters()));
        U32 consumer = k.sub(warpgroup, 1).named("consumer");
        U32 lane = k.and(tid, 31).named("lane");
        U32 warpRow = k.add(k.mul(consumer, CONSUMER_ROWS), k.mul(k.and(k.shr(tid, 5), 3), 16)).named("warpRow");
        U32 group = k.shr(lane, 2).named("group");
        U32 pair = k.shl(k.and(lane, 3), 1).named("pairColumn");
        U32 rowPosition = k.add(block.firstPosition(), k.add(warpRow, group)).named("rowPosition");

        WarpgroupAccumulator scores = k.warpgroupAccumulator("s", blockN);
        WarpgroupAccumulator out = k.warpgroupAccumulator("o", headDim);
        OnlineSoftmax softmax = new OnlineSoftmax(k, block.scale());
        MatrixDescriptor queryBase = queries.kMajorBase(k);
        MatrixDescriptor queryRows = new MatrixDescriptor(k.add(queryBase.bits(),
                k.toU64(k.mul(consumer, CONSUMER_ROWS * 128 / 16))).named("queryDesc"));
        k.waitPhase(queryLoaded, k.u32(0));

        U32 steps = source.steps(k);
        U32 lastStep = k.sub(steps, 1).named("lastStep");
        U32 firstMasked = k.min(source.firstMaskedStep(k), lastStep).named("firstMasked");
        // S of step t + 1 is issued right behind O += P V of step t, so the tensor cores run both back to back while
        // the warpgroup waits; the softmax of t + 1 then needs both done (it rescales O).
        Consumer<U32> issueScores = index -> {
            HopperKeySource.Stage stage = stageOf.apply(index);
            k.waitPhase(stage.full(), k.and(k.div(index, stages), 1));
            source.acquired(k, index);
            MatrixDescriptor keyBase = stage.keys().kMajorBase(k);
            // after the wait loop's branch ptxas would insert this fence itself (advisory C7519)
            k.wgmmaFence();
            for (int s = 0; s < headDim / 16; s++) {
                k.wgmma(scores, HalfType.BF16, queries.kMajor(k, queryRows, 0, s),
                        stage.keys().kMajor(k, keyBase, 0, s), s > 0, false);
            }
            k.wgmmaCommit();
        };
        // ping-pong: consumer c waits on barrier 1 + c for its turn, then hands it to the other on 2 - c
        U32 myTurn = k.add(consumer, 1).named("myTurn");
        U32 otherTurn = k.sub(k.u32(2), consumer).named("otherTurn");
        boolean pingPong = schedule.pingPong();
        Runnable awaitTurn = () -> {
            if (pingPong) {
                k.barrier(myTurn, 256);
            }
        };
        Runnable passTurn = () -> {
            if (pingPong) {
                k.barrierArrive(otherTurn, 256);
            }
        };
        StepBody step = (index, masked, issueNext) -> {
            HopperKeySource.Stage stage = stageOf.apply(index);
            if (masked) {
                source.mask(k, index, stage, scores, rowPosition, pair);
            }
            List<FragmentA<Bf16x2>> probabilities = softmax.fold(k, AccumulatorTile.of(scores.fragments()),
                    AccumulatorTile.of(out.fragments()), schedule.lazyRescale());
            MatrixDescriptor valueBase = stage.values().mnMajorBase(k);
            awaitTurn.run();
            k.wgmmaFence();
            for (int j = 0; j < probabilities.size(); j++) {
                k.wgmma(out, probabilities.get(j), stage.values().mnMajor(k, valueBase, j), true, true);
            }
            k.wgmmaCommit();
            if (issueNext) {
                issueScores.accept(k.add(index, 1));
            }
            passTurn.run();
            k.wgmmaWait(0);
            k.arrive(barrier(k, barriers, 1 + stages, k.rem(index, stages)));
        };
        if (pingPong) {
            k.comment("ping-pong: consumer 0 takes the first turn");
            k.ifThen(k.eq(consumer, 1), () -> k.barrierArrive(otherTurn, 256));
        }
        k.comment("S of the first step");
        awaitTurn.run();
        issueScores.accept(k.u32(0));
        passTurn.run();
        k.wgmmaWait(0);
        if (schedule.overlapSoftmax()) {
            overlappedSteps(k, stageOf, source, barriers, scores, out, softmax, rowPosition, pair, lastStep,
                    firstMasked, issueScores, awaitTurn, passTurn);
        } else {
            k.comment("key steps every row sees whole: no mask");
            k.loop(k.u32(0), firstMasked, 1, index -> step.run(index, false, true));
            k.comment("key steps the source masks");
            k.loop(firstMasked, lastStep, 1, index -> step.run(index, true, true));
            k.comment("the last step, masked, with nothing behind it");
            step.run(lastStep, true, false);
        }
        if (pingPong) {
            k.comment("ping-pong: consumer 0 takes the turn consumer 1 handed over last, so none is left pending");
            k.ifThen(k.eq(consumer, 0), () -> k.barrier(myTurn, 256));
        }

        k.comment("epilogue: O / l as bf16 (0 for a row that saw no key), rows past the end skipped");
        F32[] sums = softmax.rowSums(k);
        U32 outRowBytes = k.mul(block.numHeads(), headDim * 2).named("outRowBytes");
        U64 outBlock = k.add(k.add(block.out(), k.mulWide(block.head(), headDim * 2)),
                k.mulWide(block.firstRow(), outRowBytes)).named("outBlock");
        FragmentC[] outFragments = out.fragments();
        for (int half = 0; half < 2; half++) {
            int rowHalf = half;
            U32 row = k.add(k.add(warpRow, group), 8 * half).named("outRow");
            F32 inverse = k.select(k.gt(sums[half], k.f32(0)), k.div(k.f32(1), sums[half]), k.f32(0));
            k.ifThen(k.lt(row, block.rowsHere()), () -> {
                U64 rowStart = k.add(k.add(outBlock, k.mulWide(row, outRowBytes)), k.mulWide(pair, 2));
                for (int f = 0; f < outFragments.length; f++) {
                    List<F32> acc = outFragments[f].regs();
                    k.store(global(rowStart).plus(f * 16L), k.packBf16(k.mul(acc.get(2 * rowHalf), inverse),
                            k.mul(acc.get(2 * rowHalf + 1), inverse)));
                }
            });
        }
    }
}
