package io.minference.kernels.flash;

import io.minference.ptx.dsl.B16;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.WgmmaTile;

/**
 * Where the key tiles of a {@link HopperFlashLoop} block come from, step by step: the one thing that differs
 * between dense causal and sparse prefill. The loop owns the stage ring, the barriers, the wgmmas and the online
 * softmax; a source says how many steps a block takes, how the producer fills a stage for step {@code i}, and how
 * the consumers mask its scores. The causal source ({@link CausalKeySource}) walks the tiles below the block's
 * diagonal, unmasked, then the ones that cross it, masked, one TMA thread loading whole tiles. A sparse source
 * walks an index's key ranges (TMA starts a box at any row, so exact ranges cost nothing extra) and its gathered
 * columns (16-byte cp.async by every producer thread into the same swizzled layout), leaving each step's key
 * positions in the stage's metadata for its mask.
 */
public interface HopperKeySource {
    /**
     * One stage of the ring as the source sees it.
     *
     * @param keys     the K tile ({@code blockN} rows)
     * @param values   the V tile
     * @param full     the barrier the consumers wait on: {@link #producerArrivals} arrivals and the TMA bytes
     * @param metadata {@link #metadataBytes()} bytes of shared memory for what the mask needs (16-byte aligned)
     */
    record Stage(WgmmaTile keys, WgmmaTile values, MBarrier full, U32 metadata) {
        /**
         * A tile that both blocks of a two-block cluster need, from key row {@code firstKey}: this block's thread
         * expects both tiles' bytes on its full barrier, and K is multicast into both blocks' stage by rank 0, V by
         * rank 1, so that each tensor crosses from L2 once for the pair ({@link HopperFlashLoop#clusterPairs}).
         */
        public void loadSharedByCluster(KernelBuilder k, Pred rankZero, TensorMapParam keyMap,
                                        TensorMapParam valueMap, U32 kvHead, U32 firstKey) {
            k.comment("a tile both blocks need: K multicast by rank 0, V by rank 1, both bytes expected here");
            k.arriveExpectingBytes(full, keys.bytes() + values.bytes());
            B16 both = k.ctaMask(0b11);
            k.ifElse(rankZero, () -> keys.loadMulticast(k, keyMap, full, both, kvHead, firstKey),
                    () -> values.loadMulticast(k, valueMap, full, both, kvHead, firstKey));
        }
    }

    /** Producer threads, before their step loop: where a source declares the state it walks the steps with. */
    default void startProducer(KernelBuilder k) {
    }

    /**
     * Producer thread {@code thread}: the first step it takes part in ({@link #load} is called for it from there on),
     * 0 by default. A source that leaves the first steps to some of its producer threads starts the others later, and
     * must first hold them back until the threads that fill step {@code first - stages} have done so: the ring's
     * barriers are waited on by parity, which cannot tell a phase from the one two before it, so a thread may wait
     * only on a phase at most one ahead of the barrier's. Named barriers 0 to 2 are the loop's; a source may use 3 to
     * 15. Called once, after {@link #startProducer} and before any {@link #load}.
     */
    default U32 firstProducerStep(KernelBuilder k, U32 thread, int stages) {
        return k.u32(0);
    }

    /** Key steps this block takes, at least one. Emitted once by each role; both must get the same number. */
    U32 steps(KernelBuilder k);

    /** The first step whose scores need {@link #mask}: the steps before it are wholly visible to every row. */
    U32 firstMaskedStep(KernelBuilder k);

    /** Producer threads that take part in {@link #load}: 1 (one thread issuing TMA) up to the warpgroup's 128. */
    int producerThreads();

    /**
     * Registers each producer thread keeps after setmaxnreg (a multiple of 8, at least 24): 24 suffices for one
     * thread issuing TMA; a source whose producer threads compute gather addresses needs more, and the consumers get
     * what is left.
     */
    default int producerRegisters() {
        return 24;
    }

    /** Arrivals a full barrier counts per phase: what {@link #load}'s threads contribute per step. */
    int producerArrivals();

    /** Shared bytes per stage for the mask's data; 0 when the mask needs none. */
    int metadataBytes();

    /**
     * Producer thread {@code thread}, just before it waits for step {@code step}'s stage to be released: where a source
     * issues the global loads that {@link #load} of that step depends on, so that their latency passes while the
     * thread waits, not after the stage is free. The default does nothing.
     */
    default void beforeStageWait(KernelBuilder k, U32 thread, U32 step) {
    }

    /**
     * Producer: thread {@code thread} (below {@link #producerThreads}) fills {@code stage} for step {@code step} and
     * makes its arrivals on the full barrier, announcing TMA bytes where it issues copies.
     */
    void load(KernelBuilder k, U32 thread, U32 step, Stage stage);

    /**
     * Whether the producer can fill the ring with values a step behind the keys ({@link #loadLagged}), for the
     * overlapped schedule's {@link HopperFlashLoop.Schedule#lagValues}; false by default.
     */
    default boolean lagsValues() {
        return false;
    }

    /**
     * Producer threads, with values lagging: called after {@link #startProducer}, before the first
     * {@link #loadLagged}, where a source declares what it carries from one position to the next (so that a source
     * not lagging declares nothing for it). The default does nothing.
     */
    default void startLagging(KernelBuilder k) {
    }

    /**
     * Producer, with values lagging ({@link #lagsValues}): thread {@code thread} fills ring position
     * {@code position} (0 to {@code steps}) with K and the metadata of step {@code position} where
     * {@code position < steps}, and V of step {@code position - 1} where {@code position > 0}, making the same
     * arrivals on the full barrier as {@link #load} does for a step, announcing the TMA bytes of both parts.
     */
    default void loadLagged(KernelBuilder k, U32 thread, U32 position, U32 steps, Stage stage) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not lag its values");
    }

    /**
     * Consumers, with values lagging: the ring's last position, which holds the last step's V alone, is full and
     * about to be read by P V; a source that wrote it with ordinary copies fences them here (as in {@link #acquired}).
     * The default does nothing.
     */
    default void acquiredValues(KernelBuilder k, Stage stage) {
    }

    /**
     * Consumers: step {@code step}'s stage is full (its barrier completed), and its tiles are about to be read by
     * wgmma. A source whose producer wrote a stage with ordinary (generic-proxy) copies and did not fence them to
     * the async proxy itself fences here; one whose {@link #mask} reads the stage's metadata may read it here, into
     * a register, so that the loads run under the step's S GEMM. The loop calls this for a step after its
     * predecessor's {@link #mask} and before its own; the default does nothing.
     */
    default void acquired(KernelBuilder k, U32 step, Stage stage) {
    }

    /**
     * Whether a consumer warpgroup may leave some steps to the others ({@link #takes}): a source whose blocks hold
     * several query blocks with their own key lists, streamed once for all of them. The loop then runs the plain
     * (or lazy, or warp-release) schedule only.
     */
    default boolean skipsSteps() {
        return false;
    }

    /**
     * Consumers: whether the calling consumer warpgroup computes step {@code step} (its stage is full); one that
     * does not leaves its scores, softmax and accumulator alone and only releases the stage. Null (the default):
     * every consumer computes every step. Uniform over the warpgroup.
     */
    default Pred takes(KernelBuilder k, U32 step, Stage stage) {
        return null;
    }

    /**
     * Consumers: sets to -inf the scores of step {@code step} that the thread's rows must not see. {@code rowPosition}
     * is the sequence position of the thread's first row (its second is 8 further) and {@code pair} its first column
     * within each 8-column fragment.
     */
    void mask(KernelBuilder k, U32 step, Stage stage, WarpgroupAccumulator scores, U32 rowPosition, U32 pair);
}
