package io.minference.kernels.flash;

import io.minference.ptx.dsl.Bf16x2;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentA;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.HalfType;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.MatrixDescriptor;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
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
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;

import static io.minference.ptx.dsl.Address.global;
import static io.minference.ptx.dsl.Address.shared;

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
 * <p>A block takes one unit of work ({@link #emit}: its Q block and key source), or with {@link #persistent} several
 * in turn ({@link #emitPersistent}, typically {@link Units#strided} over a list), the ring running on across them.
 *
 * @param headDim   64 or 128
 * @param consumers consumer warpgroups, 1 or 2 (64 query rows each)
 * @param blockN    keys per step, a multiple of 16 up to 256
 * @param stages    depth of the K/V ring, at least 2
 * @param schedule  how the consumers order their work ({@link Schedule})
 * @param splitKeys whether the two consumer warpgroups share the block's 64 query rows and take alternate key steps
 *                  (consumer c steps c, c + 2, ...), each with its own online softmax, merged through shared memory
 *                  at the end; for a source whose blocks are 64 rows, so that a step can still be 64 x blockN per
 *                  warpgroup with two warpgroups on the SM's tensor cores. Wants two consumers, the plain or lazy
 *                  schedule
 * @param persistent whether a block takes several units of work in turn ({@link #emitPersistent}: a grid of a few
 *                   blocks per SM walking a list) instead of one: the ring's steps are counted across the units, so
 *                   the producer fills the next unit's first stages while the consumers finish the current one, and
 *                   loads its Q once they are done with the current one's (a "Q free" barrier), which takes the
 *                   launch, barrier set-up and pipeline fill of a block off every unit but the block's first. Wants
 *                   the consumers splitting the rows, without ping-pong or softmax overlap, and a source whose
 *                   producer threads take every step
 * @param clusterPairs whether blocks run in clusters of two ({@code .reqnctapercluster 1, 2, 1}: grid y neighbours
 *                     2c and 2c + 1) that walk one key-step sequence together, so that a tile both need sits in the
 *                     same stage of both rings, at the same parity, and is fetched from L2 once, multicast into both
 *                     (the source's {@link HopperKeySource#load}, e.g. {@link ClusterCausalKeySource}): a stage is
 *                     then free only once both blocks' consumers released it, each consumer warp arriving on its
 *                     own block's empty barrier and on the peer's (per warp whatever the schedule says, so that one
 *                     message a warp crosses between SMs), with the default (CTA-scope) semantics of the arrive
 *                     and of the producer's wait, as CUTLASS's cluster pipelines do (cluster scope on both made
 *                     every step's release wait for the cluster, and the kernel a quarter slower than without pairs);
 *                     the barriers are initialised before a cluster barrier, and a cluster barrier holds every block
 *                     until its peer is done with its shared memory. Wants one consumer warpgroup (64 rows), neither
 *                     persistent nor split keys, and the plain or lazy schedule; the source must skip the steps a
 *                     block does not need ({@link HopperKeySource#skipsSteps})
 */
public record HopperFlashLoop(int headDim, int consumers, int blockN, int stages, Schedule schedule,
                              boolean splitKeys, boolean persistent, boolean clusterPairs) {
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
     * @param warpRelease    a consumer warp releases a stage with one arrival on its empty barrier (lane 0's, after
     *                       the warp synchronises) instead of one per thread: 4 atomics on the barrier word per
     *                       warpgroup and step instead of 128. The same bits.
     * @param lagValues      with {@code overlapSoftmax}: the ring's position t holds K of step t and V of step
     *                       t - 1 ({@link HopperKeySource#loadLagged}), the two tiles that iteration t of the
     *                       overlapped loop reads (S of t, P V of t - 1), so a stage is released after one iteration
     *                       instead of two and the producer fills each stage about two steps before it is needed
     *                       instead of one; the ring takes one more position, holding the last step's V alone. The
     *                       same bits. Wants a source that can lag ({@link HopperKeySource#lagsValues})
     */
    public record Schedule(boolean pingPong, boolean overlapSoftmax, boolean lazyRescale, boolean warpRelease,
                           boolean lagValues) {
        public static final Schedule PLAIN = new Schedule(false, false, false, false, false);

        public Schedule {
            if (lagValues && !overlapSoftmax) {
                throw new IllegalArgumentException("values lag a step behind the keys only in the overlapped"
                        + " schedule, which reads them a step later");
            }
        }

        /** Rescaling every step. */
        public Schedule(boolean pingPong, boolean overlapSoftmax) {
            this(pingPong, overlapSoftmax, false, false, false);
        }

        /** Releasing stages thread by thread, K and V of a step in one stage. */
        public Schedule(boolean pingPong, boolean overlapSoftmax, boolean lazyRescale) {
            this(pingPong, overlapSoftmax, lazyRescale, false, false);
        }

        /**
         * The entry-name suffix: empty, or {@code _pingpong}, {@code _overlap}, {@code _lazy}, {@code _warp},
         * {@code _lag} in that order.
         */
        public String suffix() {
            return (pingPong ? "_pingpong" : "") + (overlapSoftmax ? "_overlap" : "") + (lazyRescale ? "_lazy" : "")
                    + (warpRelease ? "_warp" : "") + (lagValues ? "_lag" : "");
        }

        /**
         * The schedule a setting names: {@code plain}, or a comma-separated list of {@code pingpong},
         * {@code overlap}, {@code lazy}, {@code warp} and {@code lag}; anything else is an error naming it.
         */
        public static Schedule parse(String setting) {
            List<String> options = new ArrayList<>();
            for (String option : setting.split(",")) {
                String name = option.trim().toLowerCase(Locale.ROOT);
                if (!List.of("plain", "pingpong", "overlap", "lazy", "warp", "lag").contains(name)) {
                    throw new IllegalArgumentException("a Hopper schedule is plain or a comma-separated list of"
                            + " pingpong, overlap, lazy, warp and lag, not '" + setting + "'");
                }
                options.add(name);
            }
            if (options.contains("lag") && !options.contains("overlap")) {
                throw new IllegalArgumentException("the Hopper schedule '" + setting + "' lags the values without"
                        + " overlap: lag wants overlap");
            }
            return new Schedule(options.contains("pingpong"), options.contains("overlap"), options.contains("lazy"),
                    options.contains("warp"), options.contains("lag"));
        }
    }

    /** Shared memory of a Hopper SM, and the most one block may have. */
    static final int SM_SHARED_BYTES = 228 * 1024;
    static final int BLOCK_SHARED_BYTES = 227 * 1024;
    private static final int CONSUMER_ROWS = 64;
    /**
     * Registers a persistent producer thread keeps beyond what its source asks for: the unit's index, the ring's base
     * and the unit's Q coordinates stay live beside the source's walk (the sparse producer spilled below 80, its
     * source's 56 plus these).
     */
    private static final int PERSISTENT_PRODUCER_REGISTERS = 24;

    /** The plain loop. */
    public HopperFlashLoop(int headDim, int consumers, int blockN, int stages) {
        this(headDim, consumers, blockN, stages, Schedule.PLAIN);
    }

    /** Consumers splitting the block's query rows. */
    public HopperFlashLoop(int headDim, int consumers, int blockN, int stages, Schedule schedule) {
        this(headDim, consumers, blockN, stages, schedule, false);
    }

    /** One unit of work a block. */
    public HopperFlashLoop(int headDim, int consumers, int blockN, int stages, Schedule schedule, boolean splitKeys) {
        this(headDim, consumers, blockN, stages, schedule, splitKeys, false);
    }

    /** Blocks on their own, without clusters. */
    public HopperFlashLoop(int headDim, int consumers, int blockN, int stages, Schedule schedule, boolean splitKeys,
                           boolean persistent) {
        this(headDim, consumers, blockN, stages, schedule, splitKeys, persistent, false);
    }

    public HopperFlashLoop {
        if (clusterPairs && (consumers != 1 || splitKeys || persistent || schedule.pingPong()
                || schedule.overlapSoftmax())) {
            throw new IllegalArgumentException("blocks paired in clusters run one consumer warpgroup on the plain or"
                    + " lazy schedule, neither persistent nor splitting keys; got " + consumers
                    + " consumer(s), schedule" + schedule.suffix() + (persistent ? ", persistent" : "")
                    + (splitKeys ? ", split keys" : ""));
        }
        if (persistent && (splitKeys || schedule.pingPong() || schedule.overlapSoftmax())) {
            throw new IllegalArgumentException("a persistent block's consumers split the rows, without ping-pong or"
                    + " softmax overlap; got schedule" + schedule.suffix() + (splitKeys ? " with split keys" : ""));
        }
        if (splitKeys && (consumers != 2 || stages < 3 || schedule.pingPong() || schedule.overlapSoftmax())) {
            // with 2 stages a consumer would hold step i's stage while waiting for step i + 2, the same stage
            throw new IllegalArgumentException("consumers splitting the key steps are two, on the plain or lazy"
                    + " schedule, over at least 3 stages; got " + consumers + " consumer(s), " + stages
                    + " stages, schedule" + schedule.suffix());
        }
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

    /** Query rows per block: each consumer's own, or the 64 both share when they split the keys. */
    public int blockM() {
        return splitKeys ? CONSUMER_ROWS : CONSUMER_ROWS * consumers;
    }

    /** How far apart a consumer's key steps are: 1, or 2 when the consumers take alternate steps. */
    private int stepStride() {
        return splitKeys ? 2 : 1;
    }

    /** One producer and {@code consumers} consumer warpgroups. */
    public int threads() {
        return 128 * (1 + consumers);
    }

    /**
     * The grid of a persistent launch over {@code units} units on a device of {@code multiprocessors} SMs: as many
     * blocks as the SMs hold at once, at most one per unit.
     */
    public int persistentGrid(int units, int multiprocessors) {
        return Math.min(units, blocksPerSm() * multiprocessors);
    }

    /** Blocks sharing an SM: one of two consumers (its shared memory is most of the SM's), two of one. */
    public int blocksPerSm() {
        return consumers == 2 ? 1 : 2;
    }

    /**
     * Registers per thread a block starts with: what ptxas gives the entry under the launch bounds
     * ({@link #threads()} threads, {@link #blocksPerSm()} blocks an SM; {@link KernelBuilder#entryRegisters}).
     */
    int entryRegisters() {
        return KernelBuilder.entryRegisters(threads(), blocksPerSm());
    }

    /**
     * Registers a consumer thread grows to with setmaxnreg: the registers the block started with less the
     * producer's {@code producerRegisters}, split over the consumer threads, a multiple of 8, at most 240 (240 with
     * two consumers and a 24-register producer). setmaxnreg.inc takes only what the block's own warps gave back
     * with setmaxnreg.dec: asking for more waits forever. Two consumers and a persistent producer's 48 registers
     * once asked for 232 from the whole register file's share (65,536) where the block held 168 x 384 = 64,512,
     * and the persistent kernels with two consumers hung on the GPU (session 19) while the emulator passed them; with
     * this budget they pass there (session 20), and the emulator now counts setmaxnreg's registers too.
     */
    int consumerRegisters(int producerRegisters) {
        int perBlock = entryRegisters() * threads();
        return Math.min(240, (perBlock - producerRegisters * 128) / (128 * consumers) / 8 * 8);
    }

    private int tileBytes(int rows) {
        return rows * headDim * 2;
    }

    /** A stage's K and V tiles: a multiple of 1024 bytes, so every tile starts where the swizzle pattern does. */
    private int stageBytes() {
        return 2 * tileBytes(blockN);
    }

    /** Q loaded, a full and an empty barrier per stage, and with {@link #persistent} Q free. */
    private int barrierBytes() {
        return (1 + 2 * stages + (persistent ? 1 : 0)) * MBarrier.BYTES;
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

    /**
     * What the sources of a persistent block's units have in common, fixed at generation time: what the barriers,
     * the shared memory and the producer's registers are sized by.
     */
    public record SourceLayout(int producerThreads, int producerRegisters, int producerArrivals, int metadataBytes) {
        public static SourceLayout of(HopperKeySource source) {
            return new SourceLayout(source.producerThreads(), source.producerRegisters(), source.producerArrivals(),
                    source.metadataBytes());
        }
    }

    /** One unit of a persistent block's work: where its queries are and where its keys come from. */
    public record Unit(Block block, HopperKeySource source) {
    }

    /** The units a persistent block takes, in turn ({@link #emitPersistent}). */
    public interface Units {
        /** How many units this block takes, the same in every thread of the block. */
        U32 count(KernelBuilder k);

        /** Unit {@code index} of this block's turn; emitted once by each role, inside its loop over the units. */
        Unit unit(KernelBuilder k, U32 index);

        /**
         * A grid-strided walk over {@code places} places (a launch of at most one block per place, in x): block b
         * takes places b, b + grid, b + 2 grid, ... in turn, {@code at} saying which unit a place is.
         */
        static Units strided(U32 places, BiFunction<KernelBuilder, U32, Unit> at) {
            return new Units() {
                @Override
                public U32 count(KernelBuilder k) {
                    U32 grid = k.gridDim(Axis.X);
                    // at most one block per place, so places - block >= 1
                    return k.div(k.add(k.sub(places, k.blockIdx(Axis.X)), k.sub(grid, 1)), grid).named("unitCount");
                }

                @Override
                public Unit unit(KernelBuilder k, U32 index) {
                    return at.apply(k, k.mad(index, k.gridDim(Axis.X), k.blockIdx(Axis.X)).named("place"));
                }
            };
        }
    }

    /** Emits the loop for {@code block} over the steps of {@code source}: barriers, producer, consumers, epilogue. */
    public void emit(KernelBuilder k, Block block, HopperKeySource source) {
        if (source.skipsSteps() && (splitKeys || schedule.pingPong() || schedule.overlapSoftmax())) {
            throw new IllegalArgumentException("a source whose consumers skip steps runs the plain, lazy or warp"
                    + " schedule with the consumers splitting the rows, not schedule" + schedule.suffix()
                    + (splitKeys ? " with split keys" : ""));
        }
        if (persistent) {
            throw new IllegalStateException("a persistent loop takes its units from emitPersistent");
        }
        if (schedule.lagValues() && !source.lagsValues()) {
            throw new IllegalArgumentException("values lag the keys only from a source that can fill a stage with"
                    + " one step's keys and the previous step's values; " + source.getClass().getSimpleName()
                    + " cannot, here");
        }
        if (clusterPairs && !source.skipsSteps()) {
            throw new IllegalArgumentException("blocks paired in clusters walk the pair's steps, so their source must"
                    + " let a block skip the steps it does not need");
        }
        Frame frame = frame(k, SourceLayout.of(source));
        U32 tid = frame.tid();
        k.ifElse(k.eq(frame.warpgroup(), 0), () -> {
            k.comment("producer");
            k.decreaseRegisters(source.producerRegisters());
            k.ifThen(k.eq(tid, 0), () -> loadQueries(k, frame, block));
            k.ifThen(k.lt(tid, source.producerThreads()), () -> {
                source.startProducer(k);
                U32 steps = source.steps(k);
                if (schedule.lagValues()) {
                    source.startLagging(k);
                    k.comment("ring positions 0..steps: K of step p, V of step p - 1");
                    k.loop(source.firstProducerStep(k, tid, stages), k.add(steps, 1), 1, position -> {
                        awaitEmpty(k, frame, position);
                        source.loadLagged(k, tid, position, steps, frame.stageOf().apply(position));
                    });
                } else {
                    k.loop(source.firstProducerStep(k, tid, stages), steps, 1,
                            step -> produceStep(k, frame, source, step, step));
                }
            });
        }, () -> consumeUnit(k, frame, consumerRows(k, frame, source.producerRegisters()), source, block,
                index -> index, k.u32(0)));
        if (clusterPairs) {
            k.comment("no block leaves while its peer may still copy into or arrive on its shared memory");
            k.clusterBarrier();
        }
    }

    /**
     * Emits the loop of a {@link #persistent} block over its {@code units} in turn: the barriers once, then the
     * producer's and the consumers' steps of unit after unit, counted across the units in the ring. The producer
     * issues a unit's Q after its first steps (up to a ring's worth, which wait only for the stages the previous
     * unit's last steps release), once the consumers have released the previous Q; each consumer releases Q after its
     * last wgmma of the unit, before the unit's epilogue, which the next Q's load then runs under.
     */
    public void emitPersistent(KernelBuilder k, SourceLayout layout, Units units) {
        if (!persistent) {
            throw new IllegalStateException("emitPersistent wants a persistent loop");
        }
        Frame frame = frame(k, layout);
        U32 tid = frame.tid();
        int producerRegisters = layout.producerRegisters() + PERSISTENT_PRODUCER_REGISTERS;
        k.ifElse(k.eq(frame.warpgroup(), 0), () -> {
            k.comment("producer: the block's units in turn, the ring's steps counted across them");
            k.decreaseRegisters(producerRegisters);
            k.ifThen(k.lt(tid, layout.producerThreads()), () -> {
                U32 base = k.var("ringBase", k.u32(0));
                k.loop(k.u32(0), units.count(k), 1, unitIndex -> {
                    Unit unit = units.unit(k, unitIndex);
                    HopperKeySource source = checked(layout, unit.source());
                    source.startProducer(k);
                    U32 steps = source.steps(k);
                    U32 queryAfter = k.sub(k.min(steps, k.u32(stages)), 1).named("queryAfter");
                    k.loop(source.firstProducerStep(k, tid, stages), steps, 1, step -> {
                        produceStep(k, frame, source, step, k.add(base, step));
                        k.ifThen(k.and(k.eq(tid, 0), k.eq(step, queryAfter)), () -> {
                            // the previous unit's consumers are done with Q (a fresh barrier passes parity 1)
                            k.waitPhase(frame.queryFree(), k.xor(k.and(unitIndex, 1), 1));
                            loadQueries(k, frame, unit.block());
                        });
                    });
                    k.set(base, k.add(base, steps));
                });
            });
        }, () -> {
            ConsumerRows rows = consumerRows(k, frame, producerRegisters);
            U32 base = k.var("ringBase", k.u32(0));
            k.loop(k.u32(0), units.count(k), 1, unitIndex -> {
                Unit unit = units.unit(k, unitIndex);
                U32 steps = consumeUnit(k, frame, rows, checked(layout, unit.source()), unit.block(),
                        index -> k.add(base, index), k.and(unitIndex, 1));
                k.set(base, k.add(base, steps));
            });
        });
    }

    private static HopperKeySource checked(SourceLayout layout, HopperKeySource source) {
        if (!SourceLayout.of(source).equals(layout)) {
            throw new IllegalArgumentException("a persistent block's units need sources laid out as " + layout
                    + "; got " + SourceLayout.of(source));
        }
        return source;
    }

    /**
     * What both roles share: the thread, its warpgroup, the shared memory's Q tile, ring and barriers (initialised
     * here, before a block barrier), and each ring position's stage.
     */
    private record Frame(U32 tid, U32 warpgroup, WgmmaTile queries, U32 ring, U32 barriers, MBarrier queryLoaded,
                         MBarrier queryFree, Function<U32, HopperKeySource.Stage> stageOf, U32 peer) {
    }

    private Frame frame(KernelBuilder k, SourceLayout layout) {
        k.maxThreadsPerBlock(threads());
        k.minBlocksPerSm(blocksPerSm());
        if (clusterPairs) {
            k.clusterShape(1, 2, 1);
        }
        int metadataBytes = layout.metadataBytes();
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
        MBarrier queryFree = persistent ? barrier(k, barriers, 1 + 2 * stages, k.u32(0)) : null;
        Function<U32, HopperKeySource.Stage> stageOf = index -> {
            U32 stage = k.rem(index, stages).named("stage");
            U32 address = k.mad(stage, k.u32(stageBytes()), ring).named("stageAddress");
            return new HopperKeySource.Stage(new WgmmaTile(address, blockN, headDim),
                    new WgmmaTile(k.add(address, tileBytes(blockN)), blockN, headDim), barrier(k, barriers, 1, stage),
                    k.mad(stage, k.u32(metadataBytes), metadata));
        };

        k.comment("barriers: Q loaded; per stage, full (producer arrivals and TMA bytes) and empty (every consumer)");
        // with clusterPairs, each consumer warp of both blocks (one arrival a warp)
        int releasing = (schedule.warpRelease() || clusterPairs ? 4 : 128) * (splitKeys ? 1 : consumers)
                * (clusterPairs ? 2 : 1);
        k.ifThen(k.eq(tid, 0), () -> {
            k.initBarrier(queryLoaded, 1);
            for (int s = 0; s < stages; s++) {
                k.initBarrier(barrier(k, barriers, 1, k.u32(s)), layout.producerArrivals());
                k.initBarrier(barrier(k, barriers, 1 + stages, k.u32(s)), releasing);
            }
            if (queryFree != null) {
                k.initBarrier(queryFree, releasing);
            }
            k.fenceBarrierInit();
        });
        if (clusterPairs) {
            k.comment("the barriers of both blocks exist before either block's copies or arrivals reach them");
            k.clusterBarrier();
        } else {
            k.barrier();
        }
        return new Frame(tid, k.shr(tid, 7).named("warpgroup"), queries, ring, barriers, queryLoaded, queryFree,
                stageOf, clusterPairs ? k.xor(k.clusterRank(), 1).named("peerRank") : null);
    }

    /** Thread 0 of the producer: the block's (or unit's) Q tile by TMA, announced on the Q barrier. */
    private static void loadQueries(KernelBuilder k, Frame frame, Block block) {
        k.arriveExpectingBytes(frame.queryLoaded(), frame.queries().bytes());
        frame.queries().load(k, block.queries(), frame.queryLoaded(), block.head(), block.firstRow());
    }

    /**
     * A producer thread's step {@code step} of its source, in ring position {@code ringIndex}: lets the source issue
     * the step's own loads, waits for the stage to be empty, then fills it.
     */
    private void produceStep(KernelBuilder k, Frame frame, HopperKeySource source, U32 step, U32 ringIndex) {
        source.beforeStageWait(k, frame.tid(), step);
        awaitEmpty(k, frame, ringIndex);
        source.load(k, frame.tid(), step, frame.stageOf().apply(ringIndex));
    }

    /** A producer thread's wait for ring position {@code ringIndex}'s stage to be empty. */
    private void awaitEmpty(KernelBuilder k, Frame frame, U32 ringIndex) {
        U32 round = k.div(ringIndex, stages);
        MBarrier empty = barrier(k, frame.barriers(), 1 + stages, k.rem(ringIndex, stages));
        k.waitPhase(empty, k.xor(k.and(round, 1), 1));
    }

    /**
     * The ring as a consumer walks it: step {@code i}'s stage, the ring's extra last position acquired for the last
     * step's values ({@link Schedule#lagValues}), and a stage's release.
     */
    private record ConsumerRing(Function<U32, HopperKeySource.Stage> stageOf,
                                Function<U32, HopperKeySource.Stage> acquireValues, Consumer<U32> release) {
    }

    /** Ping-pong's hand-over between the two consumer warpgroups: nothing without it. */
    private record Turns(Runnable await, Runnable pass) {
    }

    /** A unit's key steps as a consumer walks them: the last, and the first that the source masks. */
    private record StepSpan(U32 lastStep, U32 firstMasked) {
    }

    /** A consumer warpgroup's registers across the steps: the scores S, the output O and the online softmax. */
    private record ConsumerState(WarpgroupAccumulator scores, WarpgroupAccumulator out, OnlineSoftmax softmax) {
    }

    /**
     * The steps with the softmax of step t overlapping P V of step t - 1 ({@link Schedule#overlapSoftmax}), in
     * FlashAttention-3's order; S of step 0 has been issued and waited for. Iteration t issues S(t), rescales O by
     * the factor step t - 1 left, issues P(t - 1) V(t - 1), waits for S(t) alone, masks it and folds it in place
     * (probabilities over the scores, the rescale deferred) while that P V runs, then waits for it, releases stage
     * t - 1 and only then packs the new probabilities into the P registers the product was reading. With
     * {@link Schedule#lagValues}, V(t - 1) is in position t beside K(t), so iteration t releases position t (and
     * step 0's position, which holds K alone, goes back after its mask); the last step's V is in position
     * {@code lastStep + 1}, acquired for the last P V.
     */
    private void overlappedSteps(KernelBuilder k, HopperKeySource source, ConsumerRing ring, ConsumerState state,
                                 U32 rowPosition, U32 pair, StepSpan span, Consumer<U32> issueScores, Turns turns) {
        WarpgroupAccumulator scores = state.scores();
        WarpgroupAccumulator out = state.out();
        OnlineSoftmax softmax = state.softmax();
        U32 lastStep = span.lastStep();
        boolean lag = schedule.lagValues();
        Function<U32, HopperKeySource.Stage> stageOf = ring.stageOf();
        k.comment("step 0's softmax (masked: exact, whatever the source says)");
        source.mask(k, k.u32(0), stageOf.apply(k.u32(0)), scores, rowPosition, pair);
        F32[] firstRescale = softmax.foldInPlace(k, AccumulatorTile.of(scores.fragments()));
        if (lag) {
            k.comment("position 0 holds step 0's K alone, done with");
            ring.release().accept(k.u32(0));
        }
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
            HopperKeySource.Stage stage = stageOf.apply(lag ? k.add(index, 1) : index);
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
            turns.await().run();
            issueScores.accept(index);
            issueProduct.accept(before);
            turns.pass().run();
            k.wgmmaWait(1);
            if (masked) {
                source.mask(k, index, stageOf.apply(index), scores, rowPosition, pair);
            }
            F32[] next = softmax.foldInPlace(k, AccumulatorTile.of(scores.fragments()));
            k.set(rescale[0], next[0]);
            k.set(rescale[1], next[1]);
            k.wgmmaWait(0);
            ring.release().accept(lag ? index : before);
            int i = 0;
            for (FragmentA<Bf16x2> fragment : OnlineSoftmax.pack(k, AccumulatorTile.of(scores.fragments()))) {
                for (Bf16x2 value : fragment.regs()) {
                    k.set(probabilities.get(i++), value);
                }
            }
        };
        U32 steps = k.add(lastStep, 1);
        U32 maskedFrom = k.max(span.firstMasked(), k.u32(1));
        k.comment("overlapped steps every row sees whole");
        k.loop(k.u32(1), maskedFrom, 1, index -> step.run(index, false, true));
        k.comment("overlapped steps the source masks");
        k.loop(maskedFrom, steps, 1, index -> step.run(index, true, true));
        k.comment("P V of the last step");
        if (lag) {
            ring.acquireValues().apply(steps);
        }
        turns.await().run();
        issueProduct.accept(lastStep);
        turns.pass().run();
        k.wgmmaWait(0);
        ring.release().accept(lag ? steps : lastStep);
    }

    /**
     * The key step of a consumer whose source lets it skip steps ({@link HopperKeySource#takes}): where it takes the
     * step, the plain step (mask, softmax, P V issued, the next step's S issued behind it if it takes that too);
     * where not, only the next step's S; then the stage released. Every path waits for its own wgmmas before the
     * paths join: ptxas serialises a wgmma pipeline whose accumulators another path reaching the wait defines by
     * ordinary instructions (advisory C7515), and the branches are uniform over the warpgroup ({@code bra.uni}, else
     * C7520).
     */
    private StepBody skippingStep(KernelBuilder k, HopperKeySource source,
                                  Function<U32, HopperKeySource.Stage> stageOf, Consumer<U32> releaseStage,
                                  Function<U32, HopperKeySource.Stage> acquire,
                                  Consumer<HopperKeySource.Stage> issueScoreGemms, StepBody issueProduct) {
        return (index, masked, issueNext) -> {
            Runnable next = () -> {
                if (issueNext) {
                    U32 following = k.add(index, 1);
                    HopperKeySource.Stage stage = acquire.apply(following);
                    k.ifElseUniform(source.takes(k, following, stage), () -> {
                        issueScoreGemms.accept(stage);
                        k.wgmmaWait(0);
                    }, () -> k.wgmmaWait(0));
                } else {
                    k.wgmmaWait(0);
                }
            };
            Pred taken = source.takes(k, index, stageOf.apply(index));
            k.ifElseUniform(taken, () -> {
                issueProduct.run(index, masked, issueNext);
                next.run();
            }, next);
            releaseStage.accept(index);
        };
    }

    /**
     * A consumer thread's release of a stage: its own arrival, or its warp's ({@link Schedule#warpRelease}), or with
     * {@link #clusterPairs} its warp's on this block's barrier and on the peer block's.
     */
    private void release(KernelBuilder k, Frame frame, MBarrier empty) {
        if (clusterPairs) {
            k.arriveForWarpInCluster(empty, k.and(k.threadIdx(), 31), frame.peer());
        } else if (schedule.warpRelease()) {
            k.arriveForWarp(empty, k.and(k.threadIdx(), 31));
        } else {
            k.arrive(empty);
        }
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

    /** A consumer thread's place in its block: its warpgroup, and its rows and columns within the tiles. */
    private record ConsumerRows(U32 consumer, U32 warpRow, U32 group, U32 pair) {
    }

    /** The consumers' start: their registers grown, each thread's place in the tiles. */
    private ConsumerRows consumerRows(KernelBuilder k, Frame frame, int producerRegisters) {
        k.comment(splitKeys ? "consumers: the block's 64 query rows, alternate key steps"
                : "consumers: 64 query rows per warpgroup");
        k.increaseRegisters(consumerRegisters(producerRegisters));
        U32 tid = frame.tid();
        U32 consumer = k.sub(frame.warpgroup(), 1).named("consumer");
        U32 lane = k.and(tid, 31).named("lane");
        U32 rowsBefore = splitKeys ? k.u32(0) : k.mul(consumer, CONSUMER_ROWS);
        U32 warpRow = k.add(rowsBefore, k.mul(k.and(k.shr(tid, 5), 3), 16)).named("warpRow");
        U32 group = k.shr(lane, 2).named("group");
        U32 pair = k.shl(k.and(lane, 3), 1).named("pairColumn");
        return new ConsumerRows(consumer, warpRow, group, pair);
    }

    /**
     * A consumer's work on one block (or unit) of queries: its accumulators from zero, Q waited for (the Q barrier's
     * phase {@code queryParity}), the source's steps, each in ring position {@code ringIndex(step)}, and the epilogue;
     * with {@link #persistent}, Q released before the epilogue. Returns the source's step count.
     */
    private U32 consumeUnit(KernelBuilder k, Frame frame, ConsumerRows rows, HopperKeySource source, Block block,
                            Function<U32, U32> ringIndex, U32 queryParity) {
        U32 tid = frame.tid();
        WgmmaTile queries = frame.queries();
        U32 barriers = frame.barriers();
        Function<U32, HopperKeySource.Stage> stageOf = index -> frame.stageOf().apply(ringIndex.apply(index));
        U32 consumer = rows.consumer();
        U32 warpRow = rows.warpRow();
        U32 group = rows.group();
        U32 pair = rows.pair();
        U32 rowPosition = k.add(block.firstPosition(), k.add(warpRow, group)).named("rowPosition");

        WarpgroupAccumulator scores = k.warpgroupAccumulator("s", blockN);
        WarpgroupAccumulator out = k.warpgroupAccumulator("o", headDim);
        OnlineSoftmax softmax = new OnlineSoftmax(k, block.scale());
        MatrixDescriptor queryBase = queries.kMajorBase(k);
        MatrixDescriptor queryRows = splitKeys ? queryBase : new MatrixDescriptor(k.add(queryBase.bits(),
                k.toU64(k.mul(consumer, CONSUMER_ROWS * 128 / 16))).named("queryDesc"));
        k.waitPhase(frame.queryLoaded(), queryParity);

        U32 steps = source.steps(k);
        U32 lastStep = k.sub(steps, 1).named("lastStep");
        U32 firstMasked = k.min(source.firstMaskedStep(k), lastStep).named("firstMasked");
        StepSpan span = new StepSpan(lastStep, firstMasked);
        // S of step t + 1 is issued right behind O += P V of step t, so the tensor cores run both back to back while
        // the warpgroup waits; the softmax of t + 1 then needs both done (it rescales O).
        // a ring position's stage once its full barrier has completed (the phase of the position's round)
        Function<U32, HopperKeySource.Stage> awaitFull = index -> {
            HopperKeySource.Stage stage = stageOf.apply(index);
            k.waitPhase(stage.full(), k.and(k.div(ringIndex.apply(index), stages), 1));
            return stage;
        };
        Function<U32, HopperKeySource.Stage> acquire = index -> {
            HopperKeySource.Stage stage = awaitFull.apply(index);
            source.acquired(k, index, stage);
            return stage;
        };
        Consumer<HopperKeySource.Stage> issueScoreGemms = stage -> {
            MatrixDescriptor keyBase = stage.keys().kMajorBase(k);
            // after the wait loop's branch ptxas would insert this fence itself (advisory C7519)
            k.wgmmaFence();
            for (int s = 0; s < headDim / 16; s++) {
                k.wgmma(scores, HalfType.BF16, queries.kMajor(k, queryRows, 0, s),
                        stage.keys().kMajor(k, keyBase, 0, s), s > 0, false);
            }
            k.wgmmaCommit();
        };
        Consumer<U32> issueScores = index -> issueScoreGemms.accept(acquire.apply(index));
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
        // the step's mask and softmax, then O += P V issued
        StepBody issueProduct = (index, masked, unused) -> {
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
        };
        Consumer<U32> releaseStage = index -> release(k, frame, barrier(k, barriers, 1 + stages,
                k.rem(ringIndex.apply(index), stages)));
        StepBody step = source.skipsSteps() ? skippingStep(k, source, stageOf, releaseStage, acquire,
                issueScoreGemms, issueProduct) : (index, masked, issueNext) -> {
            issueProduct.run(index, masked, issueNext);
            if (issueNext) {
                issueScores.accept(k.add(index, stepStride()));
            }
            passTurn.run();
            k.wgmmaWait(0);
            releaseStage.accept(index);
        };
        if (pingPong) {
            k.comment("ping-pong: consumer 0 takes the first turn");
            k.ifThen(k.eq(consumer, 1), () -> k.barrierArrive(otherTurn, 256));
        }
        if (splitKeys) {
            splitKeySteps(k, consumer, span, issueScores, step);
            mergeConsumers(k, tid, consumer, softmax, out, frame.ring());
        } else {
            if (source.skipsSteps()) {
                k.comment("S of the first step, where this consumer takes it");
                HopperKeySource.Stage first = acquire.apply(k.u32(0));
                k.ifUniform(source.takes(k, k.u32(0), first), () -> {
                    issueScoreGemms.accept(first);
                    k.wgmmaWait(0);
                });
            } else {
                k.comment("S of the first step");
                awaitTurn.run();
                issueScores.accept(k.u32(0));
                passTurn.run();
                k.wgmmaWait(0);
            }
            if (schedule.overlapSoftmax()) {
                Function<U32, HopperKeySource.Stage> acquireValues = index -> {
                    HopperKeySource.Stage stage = awaitFull.apply(index);
                    source.acquiredValues(k, stage);
                    return stage;
                };
                overlappedSteps(k, source, new ConsumerRing(stageOf, acquireValues, releaseStage),
                        new ConsumerState(scores, out, softmax), rowPosition, pair, span, issueScores,
                        new Turns(awaitTurn, passTurn));
            } else {
                k.comment("key steps every row sees whole: no mask");
                k.loop(k.u32(0), firstMasked, 1, index -> step.run(index, false, true));
                k.comment("key steps the source masks");
                k.loop(firstMasked, lastStep, 1, index -> step.run(index, true, true));
                k.comment("the last step, masked, with nothing behind it");
                step.run(lastStep, true, false);
            }
        }
        if (pingPong) {
            k.comment("ping-pong: consumer 0 takes the turn consumer 1 handed over last, so none is left pending");
            k.ifThen(k.eq(consumer, 0), () -> k.barrier(myTurn, 256));
        }
        if (frame.queryFree() != null) {
            k.comment("this unit's wgmmas are done with Q: the next unit's may load under the epilogue");
            release(k, frame, frame.queryFree());
        }

        if (splitKeys) {
            k.ifThen(k.eq(consumer, 0), () -> epilogue(k, softmax, out, warpRow, group, pair, block));
        } else {
            epilogue(k, softmax, out, warpRow, group, pair, block);
        }
        return steps;
    }

    /** O / l as bf16 (0 for a row that saw no key), rows past the end skipped. */
    private void epilogue(KernelBuilder k, OnlineSoftmax softmax, WarpgroupAccumulator out, U32 warpRow, U32 group,
                          U32 pair, Block block) {
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

    /**
     * Consumer {@code consumer}'s key steps when the two split them: {@code consumer}, {@code consumer + 2}, ... up
     * to the last step, S of each issued behind the previous one's P V as in the plain loop; a consumer with no step
     * (a block of one step) skips the loop and merges an empty state.
     */
    private void splitKeySteps(KernelBuilder k, U32 consumer, StepSpan span, Consumer<U32> issueScores,
                               StepBody step) {
        U32 lastStep = span.lastStep();
        U32 firstMasked = span.firstMasked();
        U32 steps = k.add(lastStep, 1);
        k.ifThen(k.lt(consumer, steps), () -> {
            // my last step: the largest index of my parity up to lastStep
            U32 myLast = k.sub(lastStep, k.and(k.xor(lastStep, consumer), 1)).named("myLastStep");
            k.comment("S of my first step");
            issueScores.accept(consumer);
            k.wgmmaWait(0);
            k.comment("my key steps every row sees whole: no mask");
            k.loop(consumer, k.min(firstMasked, myLast), 2, index -> step.run(index, false, true));
            k.comment("my key steps the source masks, from the first of my parity at or after firstMasked");
            U32 maskedFrom = k.max(consumer, k.add(firstMasked, k.and(k.xor(firstMasked, consumer), 1)));
            k.loop(maskedFrom, myLast, 2, index -> step.run(index, true, true));
            k.comment("my last step, masked, with nothing behind it");
            step.run(myLast, true, false);
        });
    }

    /**
     * Merges consumer 1's softmax state and accumulator into consumer 0's through shared memory: once both are done
     * with every stage (named barrier 1 over both warpgroups), consumer 1 writes its registers into the ring, a
     * register-major array (register r of thread t at {@code 4 (r * 128 + t)}: consecutive threads, consecutive
     * banks), and after a second barrier consumer 0 reads the twin thread's and folds them in
     * ({@link OnlineSoftmax#merge}).
     */
    private void mergeConsumers(KernelBuilder k, U32 tid, U32 consumer, OnlineSoftmax softmax,
                                WarpgroupAccumulator out, U32 ring) {
        // the softmax state's registers, then the accumulator's, fragment by fragment
        List<F32> registers = new ArrayList<>(softmax.stateRegisters());
        int stateSize = registers.size();
        for (FragmentC fragment : out.fragments()) {
            registers.addAll(fragment.regs());
        }
        U32 slot = k.shl(k.and(tid, 127), 2).named("mergeSlot");
        IntFunction<U32> at = r -> k.add(ring, k.add(slot, k.u32(4L * 128 * r)));
        k.comment("merge: consumer 1's state through shared memory into consumer 0's");
        k.barrier(1, 256);
        k.ifThen(k.eq(consumer, 1), () -> {
            for (int r = 0; r < registers.size(); r++) {
                k.store(shared(at.apply(r)), registers.get(r));
            }
        });
        k.barrier(1, 256);
        k.ifThen(k.eq(consumer, 0), () -> {
            List<F32> other = new ArrayList<>();
            for (int r = 0; r < registers.size(); r++) {
                other.add(k.loadF32(shared(at.apply(r))));
            }
            softmax.merge(k, other.subList(0, stateSize), AccumulatorTile.of(out.fragments()),
                    other.subList(stateSize, other.size()));
        });
    }
}
