package io.minference.sparse.gpu;

import io.minference.kernels.KernelSettings;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.sparse.SparseIndex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static io.minference.ptx.dsl.Address.global;

/**
 * Flash attention over the keys of a {@link SparseIndex} on Hopper (sm_90a): the dense Hopper kernel's loop
 * ({@link HopperFlashLoop}: TMA producer, wgmma consumers, online softmax) with one consumer warpgroup per
 * 64-query block, fed by an {@link IndexKeySource} instead of the diagonal: range tiles by TMA from any row, gathered
 * columns by cp.async, every step masked from the key positions the producer leaves beside the tiles. Same inputs
 * and outputs as {@link SparseFlashPrefill}: heads outside the index are not touched, rows that see no key are
 * written as zeros.
 * <p>Parameters: {@code q, k, v} (tensor maps, {@code io.minference.runtime.cuda.TensorMap.headRows} views of the
 * whole prompt's Q, K and V with {@code length} rows, boxes of {@link #queryRows()} rows for Q and
 * {@link #keyBoxRows()} for K and V), where {@link #keyBoxRows()} is below 64 {@code kTile, vTile} (the same views of
 * K and V with boxes of 64 rows: {@link #wholeTileMaps()}), {@code kCache, vCache, o} (u64: K and V
 * again for the gather, and O), the index's {@code rangeOffsets, rangeCounts, ranges, columnOffsets, columnCounts,
 * columns} (u64, {@link DeviceSparseIndex}'s compact layout), {@code length, firstHead, numHeads, numKvHeads} (u32),
 * {@code scale} (f32, 1/sqrt(d) * log2 e), and with {@link LaunchOrder#LONGEST_FIRST} {@code order} (u64: the slot
 * each block takes, {@link SlotOrder}'s list). Launch: grid {@code (index heads, query blocks)}, or with
 * {@link LaunchOrder#HEAD_MAJOR} {@code (query blocks, index heads)}, block {@link #threads()}, dynamic shared memory
 * {@link #sharedBytes()}; query blocks run last-first (head-major: a head's all before the next head's), or the
 * slots in the list's order. Persistent ({@link Variant#persistent}): two more parameters, {@code units} and
 * {@code blocksPerHead} (u32), and grid {@code (}{@link #persistentGrid}{@code )}.
 * <p>Specializations ({@link Variant}): the {@link LaunchOrder}, the consumers' {@link HopperFlashLoop.Schedule},
 * the producer's {@link GatherArrival}, the keys per step, pairs and persistence; each names itself in the entry
 * name.
 * <p><b>Floor, and where the time goes.</b> A computed tile (64 queries by 64 keys) costs {@code 4 * 64 * 64 * d}
 * FLOPs (S = Q Kᵀ and O += P V): 2.1 MFLOP at d 128, 2.6 ns of the whole H200 at the ~800 TFLOP/s its tensor cores
 * reach on dense bf16 GEMMs, so the floor of a launch is its tile count times that. Measured (BENCHMARKS.md, "Where
 * the sparse kernel's time is not") the kernel runs at about 450 TFLOP/s on its tiles, 0.77x the dense Hopper kernel
 * on the same loop, on range tiles alone as on the layer's mix. Each variant built against a suspected cost moved the
 * layer by a few per cent at most: the producer's wait for its gathered columns ({@link GatherArrival#ASYNC}), the
 * per-thread barrier atomics ({@link GatherArrival#WARP} with the {@code warp} schedule), the rescale of O every step
 * (the {@code lazy} schedule); 128 keys a step, which halves every fixed per-step cost per key, made it slower. A 64 x
 * 64 tile loads 32 KB of K and V for 64 query rows, twice the dense kernel's bytes per FLOP, and the kernel keeps L2
 * at 84 % of its throughput; but clusters of two blocks sharing their tiles by multicast ({@link Variant#cluster})
 * nearly halved that traffic without making it faster (BENCHMARKS.md, "Session 15"): it issues at the same rate,
 * a third or more of its warps' stalls on global loads, so what stands is issue and latency, not L2 bandwidth.
 */
public record HopperSparseFlashPrefill(int headDim, int stages, Variant variant) implements KernelDefinition {
    /** Query rows per block, and keys per tile of the index. */
    public static final int BLOCK = SparseIndex.BLOCK;
    /** The most rows (grid y) a launch may have. */
    private static final int MAX_GRID_ROWS = 65535;
    /**
     * The system property naming the consumers' schedule ({@link HopperFlashLoop.Schedule#parse}): {@code plain}, or
     * a list of {@code overlap} (the softmax of a step under the previous step's P V), {@code lazy},
     * {@code warp} and {@code lag} (with {@code overlap}: V a step behind K in the ring, no faster when measured);
     * {@code overlap,lazy} by default; one consumer warpgroup has no partner for ping-pong.
     */
    public static final String SCHEDULE_PROPERTY = "minference.sparse.schedule";
    /**
     * The {@link Variant#BASELINE}'s schedule, which the variants that cannot overlap (pairs, clusters, persistent
     * blocks, 128 keys a step) name: {@code lazy}, O rescaled only in the steps where a row's maximum moved, which
     * gives the plain schedule's bits. Measured against plain on the H200 in three calls (BENCHMARKS.md, "The
     * variants measured" and "Where the sparse kernel's time is not"), layer 22 at 128K: 1.5-3.6 % faster on the
     * structured and RoPE families, within 1 % either way on random.
     */
    private static final String BASELINE_SCHEDULE = "lazy";
    /**
     * The {@link Variant#DEFAULT}'s schedule: {@code overlap,lazy}, the softmax of a step under the previous step's
     * P V (FlashAttention-3's intra-warpgroup overlap) on top of the lazy rescale. Measured against {@code lazy} in
     * one process on the same inputs, NVIDIA H100 (BENCHMARKS.md, "Session 16"), layer 22 of MInference's LLaMA-3-8B
     * patterns: 1.027-1.074x at 128K and 1.007-1.039x at 512K on the three families, 0.992-1.041x at 32K.
     */
    private static final String DEFAULT_SCHEDULE = "overlap,lazy";
    /** The system property naming the keys per step, {@code 64} or {@code 128} ({@link Variant#keysPerStep}). */
    public static final String KEYS_PER_STEP_PROPERTY = "minference.sparse.keys-per-step";
    /**
     * The system property saying whether a block takes two query blocks of a head on one key stream, {@code true} or
     * {@code false} ({@link Variant#pairs}).
     */
    public static final String PAIRS_PROPERTY = "minference.sparse.pairs";
    /**
     * The system property saying whether the kernel runs persistent blocks, {@code true} or {@code false}
     * ({@link Variant#persistent}).
     */
    public static final String PERSISTENT_PROPERTY = "minference.sparse.persistent";
    /**
     * The system property naming the keys of a range tile's TMA copies, {@code 64}, {@code 32}, {@code 16} or
     * {@code 8} ({@link Variant#rangeBox}).
     */
    public static final String RANGE_BOX_PROPERTY = "minference.sparse.range-box";
    /**
     * The system property saying whether query blocks 2p and 2p + 1 of a head run as a two-block cluster on one key
     * stream, {@code true} or {@code false} ({@link Variant#cluster}).
     */
    public static final String CLUSTER_PROPERTY = "minference.sparse.cluster";
    /**
     * The system property naming how many tiles ahead the producer asks L2 for a range tile's rows, {@code 0} (the
     * default: no prefetch) to {@code 4} ({@link Variant#prefetchTiles}).
     */
    public static final String PREFETCH_PROPERTY = "minference.sparse.prefetch";

    /**
     * The choices a launch of the Hopper kernel makes besides the head dim: the {@link LaunchOrder} of its slots,
     * its consumers' {@link HopperFlashLoop.Schedule}, the {@link GatherArrival} of its gathered columns (these three
     * bit for bit the same outputs), and its keys per step:
     * <ul>
     *   <li>{@code 64}: one consumer warpgroup per block takes the slot's tiles one a step, two blocks per SM;</li>
     *   <li>{@code 128}: two consumer warpgroups share the slot's 64 query rows and take alternate steps of two
     *       tiles, each with its own online softmax, merged at the end, one block per SM: a step is then the dense
     *       kernel's 64 x 128 per warpgroup, so its barrier round trip, wgmma latency and rescale of O are paid
     *       once per 128 keys instead of per 64 (the same result up to rounding: the merge sums in another order).
     *       Wants the plain or lazy schedule.</li>
     * </ul>
     * With {@code pairs} a block takes query blocks 2p and 2p + 1 of a head, one consumer warpgroup each, one block
     * per SM, and its producer streams the two slots' tiles once ({@link IndexKeySource}'s paired slots): a tile both
     * slots' ranges start at the same key is loaded once for 128 query rows, as in the dense kernel, instead of
     * twice. Each consumer computes its slot's tiles in the same order as without pairs, so the outputs are bit
     * for bit the same. Wants 64 keys a step, gathers waited for, whole-tile range copies and a schedule without
     * overlap or ping-pong (so, from the properties: {@code pairs=true gather=wait range-box=64 schedule=lazy}).
     * <p>With {@code persistent} the launch is a grid of a few blocks per SM ({@link #persistentGrid}, at most one
     * per slot), and block b takes the slots at places b, b + grid, b + 2 grid, ... of the longest-first list in turn
     * ({@link HopperFlashLoop#persistent}): a slot's Q, index reads and first tiles are loaded while the previous
     * slot's last steps and epilogue run, instead of after a new block has started. The same outputs bit for bit.
     * With pairs, a unit is a pair of query blocks. Wants the longest-first order, 64 keys a step, gathers waited for
     * or arrived for by the copy engine (every producer thread takes every step), and a schedule without overlap.
     * Slower than the default on MInference's layer 22 (0.84-1.02x alone, 0.71-0.98x with pairs, 32K and 128K on an
     * H100, session 20: BENCHMARKS.md, "The persistent kernels run"), so off unless asked for.
     * <p>{@code rangeBox} is the keys of one TMA copy of a range tile: with 64 a range takes whole tiles from its
     * first key, so its last tile is partial unless its length is a multiple of 64; with a smaller box (32, 16 or 8)
     * a range tile is {@code 64 / rangeBox} boxes taken one after another through the slot's ranges, so a range's
     * last keys share a tile with the next range's first ones and only the last box of each range is partial; a tile
     * whose 64 keys all lie in the range it starts in is still one copy of 64 rows ({@link #wholeTileMaps}), which
     * made layer 22 up to 2.9 % faster at 128K and 1.3-2.2 % at 512K on an H200 (BENCHMARKS.md, "Range tiles of
     * one range copied whole"). On
     * MInference's LLaMA-3-8B layer 22 that computes 7-10 % fewer tiles at 128K and 11-13 % fewer at 512K with boxes
     * of 16, 8-12 % and 13-15 % with boxes of 8 ({@code SlashTilesReport}; BENCHMARKS.md, "Session 12"), for 4 or 8
     * copies per tensor and tile instead of 1. The outputs differ from the 64-key box's by rounding (keys are summed
     * in other tiles), within the same bounds. Wants no pairs. Boxes of 16 are the default ({@link Variant#DEFAULT}).
     * <p>With {@code cluster} query blocks 2p and 2p + 1 of a head (slots A and B) run as a cluster of two blocks
     * ({@link HopperFlashLoop#clusterPairs}), one consumer warpgroup each (the single-slot geometry, two blocks per
     * SM), whose producers walk both slots' ranges and produce the same step sequence ({@link IndexKeySource}'s
     * clustered slots): range steps in first-key order, a tile both slots start at the same key fetched from L2
     * once and multicast into both blocks (K by rank 0, V by rank 1), a tile only a block's slot takes loaded by that
     * block alone, in the same step as the peer's own private tile where the rule of the walk can tell that both are
     * private, else beside a placeholder in the peer; then column step j, in which each block gathers its own
     * slot's j-th column tile (a placeholder where its slot has fewer). Each consumer computes its slot's tiles in the
     * single-slot order, so the outputs are bit for bit those without clusters. With an odd number of query blocks
     * the last cluster's second block has no slot: it walks the steps and writes nothing. Launch: grid y twice the
     * pairs per head, clusters of (1, 2, 1); with the longest-first order a cluster takes the pairs list's unit
     * ({@link SlotOrder}'s pairs mode). Wants 64 keys a step, gathers waited for, whole-tile range copies, the plain
     * or lazy schedule, no pairs and no persistence ({@code cluster=true gather=wait range-box=64 schedule=lazy}).
     * <p>With {@code prefetchTiles} above 0, each time the producer copies a range tile, each of its threads also asks
     * L2 for one K or V row of the keys about that many tiles further on ({@code cp.async.bulk.prefetch.L2}): the
     * cursor's next tile start plus {@code prefetchTiles - 1} tiles, carried into the next range where the current
     * one ends before. Nothing waits for it, and the outputs are bit for bit those without it. Why it might pay: with
     * the overlapped schedule a stage is held a step longer, and with three stages the producer refills one about a
     * step before the consumers need it, so a copy that misses L2 is waited for (12.5 % of the consumers' stall
     * samples in session 16). It did not pay: on an H100 (session 19) it ran at 0.56-0.98x the default at 32K and
     * 128K, the prefetch instructions costing more than the misses they hide, so it stays off. Wants one slot a
     * block whose every producer warp walks the range tiles: no pairs, no clusters, no warp arrivals.
     */
    public record Variant(LaunchOrder order, HopperFlashLoop.Schedule schedule, GatherArrival gather,
                          int keysPerStep, boolean pairs, boolean persistent, int rangeBox, boolean cluster,
                          int prefetchTiles) {
        /** The keys a range tile's TMA copy may take. */
        static final List<Integer> RANGE_BOXES = List.of(64, 32, 16, 8);
        /** The distances, in tiles, at which the producer may ask L2 for a range tile's rows (0: not at all). */
        static final List<Integer> PREFETCH_DISTANCES = List.of(0, 1, 2, 3, 4);
        /** What every property of a variant starts with. */
        private static final String SETTING_PREFIX = "minference.sparse.";
        /** The properties a variant is made of. */
        private static final List<String> PROPERTIES = List.of(LaunchOrder.PROPERTY, SCHEDULE_PROPERTY,
                GatherArrival.PROPERTY, KEYS_PER_STEP_PROPERTY, PAIRS_PROPERTY, PERSISTENT_PROPERTY,
                RANGE_BOX_PROPERTY, CLUSTER_PROPERTY, PREFETCH_PROPERTY);

        /**
         * The baseline the other variants are built from and named against (their entry-name suffixes): longest
         * first, the lazy schedule, gathered tiles waited for, 64 keys a step, no pairs, a block a slot, range tiles
         * in one copy of 64 keys. The default until session 14; what pairs need.
         */
        public static final Variant BASELINE = new Variant(LaunchOrder.LONGEST_FIRST,
                HopperFlashLoop.Schedule.parse(BASELINE_SCHEDULE), GatherArrival.WAIT, BLOCK, false, false, BLOCK, false,
                0);

        /**
         * The default: the {@link #BASELINE} with range tiles in boxes of 16 keys and the gathered columns arrived
         * for by the copy engine ({@link GatherArrival#ASYNC}). Measured against the baseline on the H200 in one
         * process on the same inputs (BENCHMARKS.md, "Session 14"), layer 22 of MInference's LLaMA-3-8B patterns:
         * 4-8 % faster at 128K and 6-9 % at 512K on the structured and RoPE families, 1-7 % on random; at 32K within
         * 0.5 % on random and RoPE, 4 % (0.3 ms) slower on structured. Boxes of 32 tied with 16 at 512K; boxes of 8
         * and the whole-tile copies with the copy engine's arrivals alone were slower. Since session 16 with the
         * {@code overlap,lazy} schedule (DEFAULT_SCHEDULE); a variant that cannot overlap names
         * {@code schedule=lazy} beside its other settings. Since session 23 in the {@link LaunchOrder#HEAD_MAJOR}
         * order: on an H100 in one process on the same inputs, 1.00-1.06x the longest-first order's speed at 32K and
         * 128K and 1.01-1.20x at 512K on the three families, and the whole 512K prefill of synthetic:llama3-8b 24.6 s
         * against 26.1 s (BENCHMARKS.md, "Neighbouring query blocks together"). A variant that pairs, clusters or
         * persists names another order.
         */
        public static final Variant DEFAULT = BASELINE.withGather(GatherArrival.ASYNC).withRangeBox(16)
                .withSchedule(HopperFlashLoop.Schedule.parse(DEFAULT_SCHEDULE)).withOrder(LaunchOrder.HEAD_MAJOR);

        public Variant {
            if ((pairs || cluster) && order == LaunchOrder.HEAD_MAJOR) {
                throw new IllegalArgumentException((pairs ? PAIRS_PROPERTY : CLUSTER_PROPERTY) + " wants the "
                        + LaunchOrder.LONGEST_FIRST.setting() + " or the " + LaunchOrder.LAST_FIRST.setting()
                        + " order, not " + LaunchOrder.HEAD_MAJOR.setting());
            }
            if (cluster && (pairs || persistent || keysPerStep != BLOCK || gather != GatherArrival.WAIT
                    || rangeBox != BLOCK || schedule.overlapSoftmax() || schedule.pingPong())) {
                throw new IllegalArgumentException(CLUSTER_PROPERTY + " wants " + BLOCK + " keys a step, "
                        + GatherArrival.WAIT.setting() + " gathers, range boxes of " + BLOCK + ", a schedule without"
                        + " overlap or ping-pong, no pairs and no persistence; got " + keysPerStep + " keys, "
                        + gather.setting() + " gathers, boxes of " + rangeBox + ", schedule "
                        + (schedule.suffix().isEmpty() ? "plain" : schedule.suffix().substring(1))
                        + (pairs ? ", pairs" : "") + (persistent ? ", persistent" : ""));
            }
            if (persistent && (order != LaunchOrder.LONGEST_FIRST || keysPerStep != BLOCK
                    || gather == GatherArrival.WARP || schedule.overlapSoftmax() || schedule.pingPong())) {
                throw new IllegalArgumentException(PERSISTENT_PROPERTY + " wants the " + LaunchOrder.LONGEST_FIRST
                        .setting() + " order, " + BLOCK + " keys a step, " + GatherArrival.WAIT.setting() + " or "
                        + GatherArrival.ASYNC.setting() + " gathers and a schedule without overlap; got "
                        + order.setting() + ", " + keysPerStep + " keys, " + gather.setting() + " gathers, schedule "
                        + (schedule.suffix().isEmpty() ? "plain" : schedule.suffix().substring(1)));
            }
            if (keysPerStep != BLOCK && keysPerStep != 2 * BLOCK) {
                throw new IllegalArgumentException(KEYS_PER_STEP_PROPERTY + " must be " + BLOCK + " or " + 2 * BLOCK
                        + ", not " + keysPerStep);
            }
            if (!RANGE_BOXES.contains(rangeBox)) {
                throw new IllegalArgumentException(RANGE_BOX_PROPERTY + " must be one of " + RANGE_BOXES + ", not "
                        + rangeBox);
            }
            if (pairs && rangeBox != BLOCK) {
                throw new IllegalArgumentException(PAIRS_PROPERTY + " wants range tiles in one copy of " + BLOCK
                        + " keys, not boxes of " + rangeBox);
            }
            if (!PREFETCH_DISTANCES.contains(prefetchTiles)) {
                throw new IllegalArgumentException(PREFETCH_PROPERTY + " must be one of " + PREFETCH_DISTANCES
                        + ", not " + prefetchTiles);
            }
            if (prefetchTiles > 0 && (pairs || cluster || gather == GatherArrival.WARP)) {
                throw new IllegalArgumentException(PREFETCH_PROPERTY + " wants one slot a block whose range tiles"
                        + " every producer warp walks: no pairs, no clusters, " + GatherArrival.WAIT.setting()
                        + " or " + GatherArrival.ASYNC.setting() + " gathers; got " + gather.setting() + " gathers"
                        + (pairs ? ", pairs" : "") + (cluster ? ", clusters" : ""));
            }
            if (schedule.lagValues() && (keysPerStep != BLOCK || gather == GatherArrival.WARP || prefetchTiles > 0)) {
                throw new IllegalArgumentException(SCHEDULE_PROPERTY + " 'lag' wants " + BLOCK + " keys a step, "
                        + GatherArrival.WAIT.setting() + " or " + GatherArrival.ASYNC.setting() + " gathers and no"
                        + " prefetch, so that every producer thread fills every position; got " + keysPerStep
                        + " keys, " + gather.setting() + " gathers, prefetch " + prefetchTiles);
            }
            if (pairs && (keysPerStep != BLOCK || gather != GatherArrival.WAIT || schedule.overlapSoftmax()
                    || schedule.pingPong())) {
                throw new IllegalArgumentException(PAIRS_PROPERTY + " wants " + BLOCK + " keys a step, "
                        + GatherArrival.WAIT.setting() + " gathers and a schedule without overlap or ping-pong; got "
                        + keysPerStep + " keys, " + gather.setting() + " gathers, schedule "
                        + (schedule.suffix().isEmpty() ? "plain" : schedule.suffix().substring(1)));
            }
        }

        /**
         * The choices the system properties {@value LaunchOrder#PROPERTY}, {@value #SCHEDULE_PROPERTY},
         * {@value GatherArrival#PROPERTY}, {@value #KEYS_PER_STEP_PROPERTY}, {@value #PAIRS_PROPERTY},
         * {@value #PERSISTENT_PROPERTY} and {@value #RANGE_BOX_PROPERTY} name, the default's where unset; a misspelt
         * value, or a combination the kernel does not take, is an error naming it.
         */
        public static Variant configured() {
            return from(System::getProperty);
        }

        /**
         * A variant written as its settings, the properties' names without {@value #SETTING_PREFIX}: {@code default},
         * or {@code NAME=VALUE} pairs separated by blanks ({@code range-box=16 gather=warp schedule=lazy,warp}), the
         * others the default's. What a benchmark that times several variants in one process takes; an unknown name,
         * a pair without {@code =} or a bad value is an error naming it.
         */
        public static Variant parse(String settings) {
            Map<String, String> values = new HashMap<>();
            String trimmed = settings.strip();
            if (!trimmed.equals("default")) {
                for (String pair : trimmed.split("\\s+")) {
                    int equals = pair.indexOf('=');
                    String property = SETTING_PREFIX + (equals < 0 ? pair : pair.substring(0, equals));
                    if (equals < 1 || !PROPERTIES.contains(property)) {
                        throw new IllegalArgumentException("a sparse kernel variant is 'default' or NAME=VALUE pairs"
                                + " with NAME one of " + PROPERTIES.stream().map(p -> p.substring(SETTING_PREFIX
                                .length())).toList() + "; got '" + pair + "' in '" + settings + "'");
                    }
                    values.put(property, pair.substring(equals + 1));
                }
            }
            return from(values::get);
        }

        /** The variant whose settings {@code setting} gives by property name (null: the default's). */
        private static Variant from(Function<String, String> setting) {
            return new Variant(
                    setting(setting, LaunchOrder.PROPERTY, DEFAULT.order, LaunchOrder::parse),
                    setting(setting, SCHEDULE_PROPERTY, DEFAULT.schedule, HopperFlashLoop.Schedule::parse),
                    setting(setting, GatherArrival.PROPERTY, DEFAULT.gather, GatherArrival::parse),
                    setting(setting, KEYS_PER_STEP_PROPERTY, DEFAULT.keysPerStep, value -> KernelSettings.parse(
                            KEYS_PER_STEP_PROPERTY, value, List.of(BLOCK, 2 * BLOCK), String::valueOf)),
                    setting(setting, PAIRS_PROPERTY, DEFAULT.pairs, value -> KernelSettings.parse(PAIRS_PROPERTY,
                            value, List.of(true, false), String::valueOf)),
                    setting(setting, PERSISTENT_PROPERTY, DEFAULT.persistent, value -> KernelSettings.parse(
                            PERSISTENT_PROPERTY, value, List.of(true, false), String::valueOf)),
                    setting(setting, RANGE_BOX_PROPERTY, DEFAULT.rangeBox, value -> KernelSettings.parse(
                            RANGE_BOX_PROPERTY, value, RANGE_BOXES, String::valueOf)),
                    setting(setting, CLUSTER_PROPERTY, DEFAULT.cluster, value -> KernelSettings.parse(
                            CLUSTER_PROPERTY, value, List.of(true, false), String::valueOf)),
                    setting(setting, PREFETCH_PROPERTY, DEFAULT.prefetchTiles, value -> KernelSettings.parse(
                            PREFETCH_PROPERTY, value, PREFETCH_DISTANCES, String::valueOf)));
        }

        private static <T> T setting(Function<String, String> setting, String property, T fallback,
                                     Function<String, T> parse) {
            String value = setting.apply(property);
            return value == null ? fallback : parse.apply(value);
        }

        public Variant withOrder(LaunchOrder other) {
            return new Variant(other, schedule, gather, keysPerStep, pairs, persistent,
                    rangeBox, cluster, prefetchTiles);
        }

        public Variant withSchedule(HopperFlashLoop.Schedule other) {
            return new Variant(order, other, gather, keysPerStep, pairs, persistent, rangeBox, cluster, prefetchTiles);
        }

        public Variant withGather(GatherArrival other) {
            return new Variant(order, schedule, other, keysPerStep, pairs, persistent,
                    rangeBox, cluster, prefetchTiles);
        }

        public Variant withKeysPerStep(int other) {
            return new Variant(order, schedule, gather, other, pairs, persistent, rangeBox, cluster, prefetchTiles);
        }

        public Variant withPairs(boolean other) {
            return new Variant(order, schedule, gather, keysPerStep, other, persistent,
                    rangeBox, cluster, prefetchTiles);
        }

        public Variant withPersistent(boolean other) {
            return new Variant(order, schedule, gather, keysPerStep, pairs, other, rangeBox, cluster, prefetchTiles);
        }

        public Variant withRangeBox(int other) {
            return new Variant(order, schedule, gather, keysPerStep, pairs, persistent, other, cluster, prefetchTiles);
        }

        public Variant withCluster(boolean other) {
            return new Variant(order, schedule, gather, keysPerStep, pairs, persistent, rangeBox, other, prefetchTiles);
        }

        public Variant withPrefetchTiles(int other) {
            return new Variant(order, schedule, gather, keysPerStep, pairs, persistent, rangeBox, cluster, other);
        }

        /**
         * How a benchmark line names it: {@code longest-first, lazy, wait, 64 keys a step[, pairs][, persistent][,
         * range boxes of 16][, clusters of 2]}.
         */
        public String describe() {
            String suffix = schedule.suffix();
            return order.setting() + ", " + (suffix.isEmpty() ? "plain" : suffix.substring(1).replace('_', ','))
                    + ", " + gather.setting() + ", " + keysPerStep + " keys a step" + (pairs ? ", pairs" : "")
                    + (persistent ? ", persistent" : "") + (rangeBox == BLOCK ? "" : ", range boxes of " + rangeBox)
                    + (cluster ? ", clusters of 2" : "")
                    + (prefetchTiles == 0 ? "" : ", L2 prefetch " + prefetchTiles + " tiles ahead");
        }

        /** The entry-name suffix of the choices other than the default's. */
        String suffix() {
            return (switch (order) {
                case LONGEST_FIRST -> "_longest";
                case HEAD_MAJOR -> "_headmajor";
                case LAST_FIRST -> "";
            }) + schedule.suffix()
                    + (gather == GatherArrival.WAIT ? "" : "_" + gather.setting() + "_gather")
                    + (keysPerStep == BLOCK ? "" : "_k" + keysPerStep) + (pairs ? "_pairs" : "")
                    + (persistent ? "_persistent" : "") + (rangeBox == BLOCK ? "" : "_rb" + rangeBox)
                    + (cluster ? "_cluster2" : "") + (prefetchTiles == 0 ? "" : "_pf" + prefetchTiles);
        }
    }

    public HopperSparseFlashPrefill {
        loop(headDim, stages, variant).checkSharedMemory(layout(variant).metadataBytes());
    }

    /**
     * The {@link Variant#BASELINE} in the grid's order: the default schedule, each gathered tile waited for by its
     * producer, 64 keys a step, whole-tile range copies.
     */
    public HopperSparseFlashPrefill(int headDim, int stages) {
        this(headDim, stages, BASELINE_WITH_GRID_ORDER);
    }

    private static final Variant BASELINE_WITH_GRID_ORDER = Variant.BASELINE.withOrder(LaunchOrder.LAST_FIRST);

    private static int tilesPerStep(Variant variant) {
        return variant.keysPerStep() / BLOCK;
    }

    /** What {@link IndexKeySource}'s stages, barriers and producer registers are sized by, for any slot. */
    private static HopperFlashLoop.SourceLayout layout(Variant variant) {
        return IndexKeySource.layout(slotsPerBlock(variant), tilesPerStep(variant), variant.gather());
    }

    /** Index slots (64-query blocks) one block takes: 2 with pairs, else 1. */
    public static int slotsPerBlock(Variant variant) {
        return variant.pairs() ? 2 : 1;
    }

    /**
     * Query blocks of a unit of the launch (a place in the longest-first list, a persistent unit): 2 with pairs or
     * clusters (a block, or a cluster of two, per pair of query blocks), else 1.
     */
    public static int queryBlocksPerUnit(Variant variant) {
        return variant.pairs() || variant.cluster() ? 2 : 1;
    }

    /**
     * The grid's y over {@code units} units per head ({@code ceil(queryBlocks / queryBlocksPerUnit)}): the units, or
     * with clusters two blocks per unit; more than a grid's 65535 rows is an error naming the limit (with clusters an
     * odd 65535 query blocks round up past it).
     */
    public int gridBlocksPerHead(int units) {
        long rows = variant.cluster() ? 2L * units : units;
        if (rows > MAX_GRID_ROWS) {
            throw new IllegalArgumentException("the sparse kernel" + (variant.cluster() ? " in clusters of two" : "")
                    + " would launch " + rows + " block rows per head, more than a grid's " + MAX_GRID_ROWS
                    + "; the prompt is too long for it");
        }
        return (int) rows;
    }

    private static HopperFlashLoop loop(int headDim, int stages, Variant variant) {
        boolean split = tilesPerStep(variant) == 2;
        return new HopperFlashLoop(headDim, split || variant.pairs() ? 2 : 1, variant.keysPerStep(), stages,
                variant.schedule(), split, variant.persistent(), variant.cluster());
    }

    /**
     * The persistent launch's grid over {@code units} units on {@code multiprocessors} SMs: as many blocks as the SMs
     * hold (two of one consumer warpgroup, one of two), at most one per unit.
     */
    public int persistentGrid(int units, int multiprocessors) {
        return loop().persistentGrid(units, multiprocessors);
    }

    /** Rows of the K and V maps' box: the keys of a range tile's copy ({@link Variant#rangeBox}). */
    public int keyBoxRows() {
        return variant.rangeBox();
    }

    /**
     * Whether the kernel takes K and V maps of whole 64-row tiles ({@code kTile, vTile}) after its box maps: with
     * boxes below 64 keys, a range tile whose keys all lie in one range is one copy of 64 rows, not 64 / box copies.
     */
    public boolean wholeTileMaps() {
        return variant.rangeBox() != BLOCK;
    }

    /** Query rows per block: 64, or 128 with pairs (the Q map's box). */
    public int queryRows() {
        return BLOCK * slotsPerBlock(variant);
    }

    private HopperFlashLoop loop() {
        return loop(headDim, stages, variant);
    }

    /** The tuned shape for a head dim: 3 stages, its slots longest first. */
    public static HopperSparseFlashPrefill forHeadDim(int headDim) {
        return forHeadDim(headDim, LaunchOrder.LONGEST_FIRST);
    }

    /** The tuned shape for a head dim, taking its slots in {@code order}, with the default schedule. */
    public static HopperSparseFlashPrefill forHeadDim(int headDim, LaunchOrder order) {
        return forHeadDim(headDim, Variant.DEFAULT.withOrder(order));
    }

    /**
     * The tuned shape for a head dim, taking its slots in {@code order}, its consumers in {@code schedule}, each
     * gathered tile waited for by its producer, 64 keys a step, whole-tile range copies ({@link Variant#BASELINE}).
     */
    public static HopperSparseFlashPrefill forHeadDim(int headDim, LaunchOrder order,
                                                      HopperFlashLoop.Schedule schedule) {
        return forHeadDim(headDim, Variant.BASELINE.withOrder(order).withSchedule(schedule));
    }

    /**
     * The tuned shape for a head dim with every choice given: 3 stages (4 with pairs, whose one block per SM has the
     * shared memory for them).
     */
    public static HopperSparseFlashPrefill forHeadDim(int headDim, Variant variant) {
        return new HopperSparseFlashPrefill(headDim, variant.pairs() ? 4 : 3, variant);
    }

    public int threads() {
        return loop().threads();
    }

    public int sharedBytes() {
        return loop().sharedBytes(layout(variant).metadataBytes());
    }

    @Override
    public String entryName() {
        return "sparse_flash_prefill_sm90a_bf16_d%d_s%d%s".formatted(headDim, stages, variant.suffix());
    }

    @Override
    public PtxTarget minimumTarget() {
        return PtxTarget.SM_90A;
    }

    /** Slot {@code slot}'s ranges and columns; with {@code present} false, none (its counts read as 0). */
    private static IndexKeySource.SlotKeys slotKeys(KernelBuilder k, IndexParams indexParams, U32 slot,
                                                    Pred present) {
        U64 slotRanges = indexParams.slotRanges(k, slot);
        U64 slotColumns = indexParams.slotColumns(k, slot);
        U32 rangeCount = k.loadU32(global(k.add(indexParams.rangeCounts(), k.mulWide(slot, 4))))
                .named("rangeCount");
        U32 columnCount = k.loadU32(global(k.add(indexParams.columnCounts(), k.mulWide(slot, 4))))
                .named("columnCount");
        if (present != null) {
            rangeCount = k.select(present, rangeCount, k.u32(0));
            columnCount = k.select(present, columnCount, k.u32(0));
        }
        return new IndexKeySource.SlotKeys(slotRanges, rangeCount, slotColumns, columnCount);
    }

    /** The kernel's parameters, declared in order. */
    private record Params(TensorMapParam qMap, IndexKeySource.Maps boxes, IndexKeySource.Maps tiles, U64 kCache,
                          U64 vCache, U64 o, IndexParams index, U32 length, U32 firstHead, U32 numHeads,
                          U32 numKvHeads, F32 scale, U64 slotOrder) {
        static Params declare(KernelBuilder k, boolean longestFirst, boolean wholeTileMaps) {
            TensorMapParam qMap = k.tensorMapParam("q");
            IndexKeySource.Maps boxes = new IndexKeySource.Maps(k.tensorMapParam("k"), k.tensorMapParam("v"));
            IndexKeySource.Maps tiles = wholeTileMaps
                    ? new IndexKeySource.Maps(k.tensorMapParam("kTile"), k.tensorMapParam("vTile")) : boxes;
            U64 kCache = k.pointerParam("kCache");
            U64 vCache = k.pointerParam("vCache");
            U64 o = k.pointerParam("o");
            IndexParams indexParams = IndexParams.declare(k);
            U32 length = k.u32Param("length");
            U32 firstHead = k.u32Param("firstHead");
            U32 numHeads = k.u32Param("numHeads");
            U32 numKvHeads = k.u32Param("numKvHeads");
            F32 scale = k.f32Param("scale");
            U64 slotOrder = longestFirst ? k.pointerParam("order") : null;
            return new Params(qMap, boxes, tiles, kCache, vCache, o, indexParams, length, firstHead, numHeads,
                    numKvHeads, scale, slotOrder);
        }
    }

    /** A block's (or persistent unit's) place: its head slot, its first query block and its index slot. */
    private record Position(U32 headSlot, U32 queryBlock, U32 slot) {
    }

    @Override
    public void define(KernelBuilder k) {
        boolean longestFirst = variant.order() == LaunchOrder.LONGEST_FIRST;
        Params params = Params.declare(k, longestFirst, wholeTileMaps());
        k.describe("sparse flash attention over an index's ranges (TMA) and columns (cp.async gather) on wgmma, head dim "
                + headDim + ", " + BLOCK + " queries x " + variant.keysPerStep() + " keys per step, " + stages
                + " stages");
        if (variant.persistent()) {
            definePersistent(k, params);
            return;
        }
        if (variant.cluster()) {
            defineCluster(k, params, longestFirst);
            return;
        }

        // the grid counts query blocks, or pairs of them, in y (in x head-major); the sorted list holds
        // (head slot, unit) units
        boolean headMajor = variant.order() == LaunchOrder.HEAD_MAJOR;
        U32 blocksPerHead = k.gridDim(headMajor ? Axis.X : Axis.Y);
        U32 queryBlocks = queryBlocks(k, params, blocksPerHead);
        Position position;
        if (headMajor) {
            U32 headSlot = k.blockIdx(Axis.Y).named("headSlot");
            position = lastFirst(k, headSlot, Axis.X, blocksPerHead, queryBlocks);
        } else if (longestFirst) {
            // block n of the launch (in the order blocks start: x fastest) takes the n-th unit of the sorted list
            U32 launched = k.mad(k.blockIdx(Axis.Y), k.gridDim(Axis.X), k.blockIdx(Axis.X)).named("launched");
            position = listed(k, params, launched, blocksPerHead, queryBlocks);
        } else {
            U32 headSlot = k.blockIdx(Axis.X).named("headSlot");
            position = lastFirst(k, headSlot, Axis.Y, blocksPerHead, queryBlocks);
        }
        HopperFlashLoop.Unit unit = unit(k, params, position, queryBlocks);
        loop().emit(k, unit.block(), unit.source());
    }

    /**
     * The unit of a head slot that the block's index on {@code axis} counts from the head's last: its first query
     * block and index slot.
     */
    private Position lastFirst(KernelBuilder k, U32 headSlot, Axis axis, U32 blocksPerHead, U32 queryBlocks) {
        U32 y = k.sub(k.sub(blocksPerHead, 1), k.blockIdx(axis)).named("queryBlock");
        U32 queryBlock = variant.pairs() ? k.shl(y, 1) : y;
        return new Position(headSlot, queryBlock, k.mad(headSlot, queryBlocks, queryBlock).named("slot"));
    }

    /**
     * The persistent kernel ({@link Variant#persistent}): two more parameters, {@code units} (u32: the list's length,
     * head slots times query blocks, or pairs of them) and {@code blocksPerHead} (u32: query blocks, or pairs, per
     * head); grid {@code (persistentGrid(units, SMs))}; block b takes the list's places b, b + grid, ... in turn.
     */
    private void definePersistent(KernelBuilder k, Params params) {
        U32 units = k.u32Param("units");
        U32 blocksPerHead = k.u32Param("blocksPerHead");
        U32 queryBlocks = queryBlocks(k, params, blocksPerHead);
        loop().emitPersistent(k, layout(variant), HopperFlashLoop.Units.strided(units, (builder, place) ->
                unit(builder, params, listed(builder, params, place, blocksPerHead, queryBlocks), queryBlocks)));
    }

    /**
     * Clusters of two blocks ({@link Variant#cluster}): grid y neighbours 2c and 2c + 1 form cluster c of their head
     * slot, which takes one pair of query blocks: with the longest-first order the pairs list's unit at the cluster's
     * place in launch order (x fastest), else pair {@code pairs - 1 - c} (last-first). The block of cluster rank r
     * takes query block {@code 2 pair + r}, none (no rows, no keys) past the last.
     */
    private void defineCluster(KernelBuilder k, Params params, boolean longestFirst) {
        U32 pairsPerHead = k.shr(k.gridDim(Axis.Y), 1).named("pairsPerHead");
        U32 queryBlocks = k.div(k.add(params.length(), BLOCK - 1), BLOCK).named("queryBlocks");
        U32 cluster = k.shr(k.blockIdx(Axis.Y), 1);
        U32 headSlot;
        U32 pair;
        if (longestFirst) {
            U32 launched = k.mad(cluster, k.gridDim(Axis.X), k.blockIdx(Axis.X)).named("launched");
            U32 unit = k.loadU32(k.element(params.slotOrder(), launched, 4)).named("pairUnit");
            headSlot = k.div(unit, pairsPerHead).named("headSlot");
            pair = k.sub(unit, k.mul(headSlot, pairsPerHead)).named("pair");
        } else {
            headSlot = k.blockIdx(Axis.X).named("headSlot");
            pair = k.sub(k.sub(pairsPerHead, 1), cluster).named("pair");
        }
        U32 rank = k.clusterRank().named("rank");
        U32 firstBlock = k.shl(pair, 1);
        U32 slotA = k.mad(headSlot, queryBlocks, firstBlock).named("slotA");
        IndexKeySource.SlotKeys a = slotKeys(k, params.index(), slotA, null);
        IndexKeySource.SlotKeys b = secondSlotKeys(k, params, slotA, firstBlock, queryBlocks);
        U32 head = k.add(params.firstHead(), headSlot).named("head");
        U32 firstRow = k.mul(k.add(firstBlock, rank), BLOCK).named("firstRow");
        U32 rowsHere = k.select(k.lt(firstRow, params.length()), k.min(k.sub(params.length(), firstRow),
                k.u32(BLOCK)), k.u32(0)).named("rowsHere");
        IndexKeySource source = IndexKeySource.clustered(k, headDim, keyValues(k, params, head), a, b, rank);
        loop().emit(k, block(params, head, firstRow, rowsHere), source);
    }

    /** Query blocks per head: the units per head, or with pairs twice them less an odd last one, from the length. */
    private U32 queryBlocks(KernelBuilder k, Params params, U32 blocksPerHead) {
        return variant.pairs() ? k.div(k.add(params.length(), BLOCK - 1), BLOCK).named("queryBlocks") : blocksPerHead;
    }

    /** The unit at {@code place} of the longest-first list: a (head slot, query block or pair) in one number. */
    private Position listed(KernelBuilder k, Params params, U32 place, U32 blocksPerHead, U32 queryBlocks) {
        U32 unit = k.loadU32(k.element(params.slotOrder(), place, 4)).named("slot");
        U32 headSlot = k.div(unit, blocksPerHead).named("headSlot");
        U32 y = k.sub(unit, k.mul(headSlot, blocksPerHead)).named("queryBlock");
        U32 queryBlock = variant.pairs() ? k.shl(y, 1) : y;
        return new Position(headSlot, queryBlock, variant.pairs() ? k.mad(headSlot, queryBlocks, queryBlock) : unit);
    }

    /** The queries and the key source of the block (or unit) at {@code position}. */
    private HopperFlashLoop.Unit unit(KernelBuilder k, Params params, Position position, U32 queryBlocks) {
        U32 head = k.add(params.firstHead(), position.headSlot()).named("head");
        U32 firstRow = k.mul(position.queryBlock(), BLOCK).named("firstRow");
        U32 rowsHere = k.min(k.sub(params.length(), firstRow), k.u32(queryRows())).named("rowsHere");
        List<IndexKeySource.SlotKeys> slots = new ArrayList<>();
        slots.add(slotKeys(k, params.index(), position.slot(), null));
        if (variant.pairs()) {
            slots.add(secondSlotKeys(k, params, position.slot(), position.queryBlock(), queryBlocks));
        }
        IndexKeySource source = new IndexKeySource(k, headDim, keyValues(k, params, head), slots,
                tilesPerStep(variant), variant.gather(), new IndexKeySource.RangeCopies(variant.rangeBox(),
                variant.prefetchTiles()));
        return new HopperFlashLoop.Unit(block(params, head, firstRow, rowsHere), source);
    }

    /**
     * The keys of the second query block of a pair (or cluster) whose first, {@code firstBlock}, is slot
     * {@code slotA}: an odd last query block has no partner, so B reads slot A again and takes no keys.
     */
    private IndexKeySource.SlotKeys secondSlotKeys(KernelBuilder k, Params params, U32 slotA, U32 firstBlock,
                                                   U32 queryBlocks) {
        Pred hasSecond = k.lt(k.add(firstBlock, 1), queryBlocks);
        return slotKeys(k, params.index(), k.select(hasSecond, k.add(slotA, 1), slotA), hasSecond);
    }

    /** Where head {@code head}'s K and V rows are: its KV head's maps and cache rows. */
    private IndexKeySource.KeyValues keyValues(KernelBuilder k, Params params, U32 head) {
        U32 kvHead = k.div(head, k.div(params.numHeads(), params.numKvHeads())).named("kvHead");
        U32 kvRowBytes = k.mul(params.numKvHeads(), headDim * 2).named("kvRowBytes");
        return new IndexKeySource.KeyValues(params.boxes(), params.tiles(),
                k.add(params.kCache(), k.mulWide(kvHead, headDim * 2)),
                k.add(params.vCache(), k.mulWide(kvHead, headDim * 2)), kvHead, kvRowBytes, params.length());
    }

    /** The loop's block: head {@code head}'s queries from {@code firstRow}, their positions the same rows. */
    private static HopperFlashLoop.Block block(Params params, U32 head, U32 firstRow, U32 rowsHere) {
        return new HopperFlashLoop.Block(params.qMap(), head, firstRow, rowsHere, firstRow, params.o(),
                params.numHeads(), params.scale());
    }
}
