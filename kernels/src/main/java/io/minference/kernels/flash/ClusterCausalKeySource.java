package io.minference.kernels.flash;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.WarpgroupAccumulator;

/**
 * The dense causal key source of a block paired with a neighbour in a two-block cluster
 * ({@link HopperFlashLoop#clusterPairs}): both blocks walk one key-step sequence, the tiles of the pair's longer
 * key list ({@link CausalKeySource}'s of each block, which are prefixes of one another), so that a tile both need
 * is in the same stage of both rings at the same step. Such a tile is fetched from L2 once: the block of rank 0
 * multicasts its K tile and the block of rank 1 its V tile into both blocks, each block's producer announcing the
 * whole K and V bytes on its own full barrier (the peer's multicast completes its share there). A tile only one
 * block needs it loads alone. A step a block does not need is a placeholder for it: its producer arrives on the
 * full barrier with no bytes, and its consumer only releases the stage ({@link #takes}), which keeps both rings'
 * barriers in step. A block of no rows (the padding of an odd number of query blocks) needs no tile and takes no
 * step, but walks the pair's sequence all the same, so that its peer's barriers see its releases. Masks are each
 * block's own, from its rows.
 */
final class ClusterCausalKeySource implements HopperKeySource {
    private final CausalKeySource own;
    private final U32 ownSteps;
    private final U32 peerSteps;
    private final U32 rank;

    private ClusterCausalKeySource(CausalKeySource own, U32 ownSteps, U32 peerSteps, U32 rank) {
        this.own = own;
        this.ownSteps = ownSteps;
        this.peerSteps = peerSteps;
        this.rank = rank;
    }

    /**
     * The source of the block of rank {@code rank} (0 or 1) whose rows start at {@code ownFirstPosition}, its peer's
     * at {@code peerFirstPosition}; emitted before the roles split, since both count the steps of both blocks.
     *
     * @param ownRows  the valid rows of this block, 0 for a padding block
     * @param peerRows the valid rows of the peer block
     */
    static ClusterCausalKeySource of(KernelBuilder k, int blockN, TensorMapParam keyMap, TensorMapParam valueMap,
                                     U32 kvHead, U32 rank, U32 ownFirstPosition, U32 ownRows, U32 peerFirstPosition,
                                     U32 peerRows) {
        CausalKeySource own = new CausalKeySource(blockN, keyMap, valueMap, kvHead, ownFirstPosition, ownRows);
        CausalKeySource peer = new CausalKeySource(blockN, keyMap, valueMap, kvHead, peerFirstPosition, peerRows);
        return new ClusterCausalKeySource(own, needed(k, own, ownRows, "ownSteps"),
                needed(k, peer, peerRows, "peerSteps"), rank);
    }

    /** The key steps a block of {@code rows} rows needs: its causal source's, none for no rows. */
    private static U32 needed(KernelBuilder k, CausalKeySource source, U32 rows, String name) {
        return k.select(k.eq(rows, 0), k.u32(0), source.steps(k)).named(name);
    }

    @Override
    public U32 steps(KernelBuilder k) {
        return k.max(ownSteps, peerSteps).named("pairSteps");
    }

    @Override
    public U32 firstMaskedStep(KernelBuilder k) {
        return own.firstMaskedStep(k);
    }

    @Override
    public int producerThreads() {
        return own.producerThreads();
    }

    @Override
    public int producerRegisters() {
        return own.producerRegisters();
    }

    @Override
    public int producerArrivals() {
        return own.producerArrivals();
    }

    @Override
    public int metadataBytes() {
        return own.metadataBytes();
    }

    @Override
    public boolean skipsSteps() {
        return true;
    }

    @Override
    public Pred takes(KernelBuilder k, U32 step, Stage stage) {
        return k.lt(step, ownSteps);
    }

    @Override
    public void load(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        U32 shared = k.min(ownSteps, peerSteps).named("sharedSteps");
        k.ifElse(k.lt(step, shared), () -> {
            own.loadSharedByCluster(k, stage, k.eq(rank, 0), step);
        }, () -> k.ifElse(k.lt(step, ownSteps), () -> {
            k.comment("a tile only this block needs, loaded alone");
            own.load(k, thread, step, stage);
        }, () -> {
            k.comment("a step only the peer needs: a placeholder, no bytes");
            k.arrive(stage.full());
        }));
    }

    @Override
    public void mask(KernelBuilder k, U32 step, Stage stage, WarpgroupAccumulator scores, U32 rowPosition,
                     U32 pair) {
        own.mask(k, step, stage, scores, rowPosition, pair);
    }
}
