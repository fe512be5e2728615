package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.FragmentC;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.WarpgroupAccumulator;

/**
 * The dense causal key source: a block of queries at positions {@code [firstPosition, firstPosition + rows)} walks
 * the key tiles {@code [0, ceil((firstPosition + rows) / blockN))}, loaded whole by TMA from the K and V maps (whose
 * row count is the valid cache length, so rows past it read as zero). Tiles that end at or before the block's first
 * position are unmasked; the rest cross the diagonal and are masked per row.
 */
public final class CausalKeySource implements HopperKeySource {
    /** One thread issues each step's TMA and arrives once; no metadata; the registers one TMA thread needs. */
    public static final HopperFlashLoop.SourceLayout LAYOUT = new HopperFlashLoop.SourceLayout(1, 24, 1, 0);

    private final int blockN;
    private final TensorMapParam keyMap;
    private final TensorMapParam valueMap;
    private final U32 kvHead;
    private final U32 firstPosition;
    private final U32 rowsHere;

    public CausalKeySource(int blockN, TensorMapParam keyMap, TensorMapParam valueMap, U32 kvHead, U32 firstPosition,
                           U32 rowsHere) {
        this.blockN = blockN;
        this.keyMap = keyMap;
        this.valueMap = valueMap;
        this.kvHead = kvHead;
        this.firstPosition = firstPosition;
        this.rowsHere = rowsHere;
    }

    @Override
    public U32 steps(KernelBuilder k) {
        return k.div(k.add(firstPosition, k.add(rowsHere, blockN - 1)), blockN).named("keyTiles");
    }

    @Override
    public U32 firstMaskedStep(KernelBuilder k) {
        return k.div(k.add(firstPosition, 1), blockN).named("firstMaskedTile");
    }

    @Override
    public int producerThreads() {
        return LAYOUT.producerThreads();
    }

    @Override
    public int producerRegisters() {
        return LAYOUT.producerRegisters();
    }

    @Override
    public int producerArrivals() {
        return LAYOUT.producerArrivals();
    }

    @Override
    public int metadataBytes() {
        return LAYOUT.metadataBytes();
    }

    @Override
    public void load(KernelBuilder k, U32 thread, U32 step, Stage stage) {
        k.arriveExpectingBytes(stage.full(), stage.keys().bytes() + stage.values().bytes());
        U32 firstKey = k.mul(step, blockN).named("firstKey");
        stage.keys().load(k, keyMap, stage.full(), kvHead, firstKey);
        stage.values().load(k, valueMap, stage.full(), kvHead, firstKey);
    }

    @Override
    public boolean lagsValues() {
        return true;
    }

    /** K tile {@code position} and V tile {@code position - 1}, where they exist, both announced before one arrival. */
    @Override
    public void loadLagged(KernelBuilder k, U32 thread, U32 position, U32 steps, Stage stage) {
        k.ifThen(k.gt(position, k.u32(0)), () -> {
            k.expectBytes(stage.full(), stage.values().bytes());
            stage.values().load(k, valueMap, stage.full(), kvHead, k.mul(k.sub(position, 1), blockN));
        });
        k.ifThen(k.lt(position, steps), () -> {
            k.expectBytes(stage.full(), stage.keys().bytes());
            stage.keys().load(k, keyMap, stage.full(), kvHead, k.mul(position, blockN));
        });
        k.arrive(stage.full());
    }

    /**
     * Step {@code step}'s tile loaded once for the two blocks of a cluster that both need it
     * ({@link Stage#loadSharedByCluster}: K multicast by rank 0, V by rank 1); {@link ClusterCausalKeySource}'s.
     */
    void loadSharedByCluster(KernelBuilder k, Stage stage, Pred rankZero, U32 step) {
        stage.loadSharedByCluster(k, rankZero, keyMap, valueMap, kvHead, k.mul(step, blockN).named("firstKey"));
    }

    @Override
    public void mask(KernelBuilder k, U32 step, Stage stage, WarpgroupAccumulator scores, U32 rowPosition,
                     U32 pair) {
        // entry (half, fragment f, column c) holds key step * blockN + 8f + pair + c for row rowPosition + 8 half:
        // kept while 8f + c <= rowPosition + 8 half - step * blockN - pair
        S32 limit = k.toS32(k.sub(rowPosition, k.add(k.mul(step, blockN), pair)));
        FragmentC[] fragments = scores.fragments();
        for (int half = 0; half < 2; half++) {
            S32 rowLimit = half == 0 ? limit : k.add(limit, 8);
            for (int f = 0; f < fragments.length; f++) {
                for (int c = 0; c < 2; c++) {
                    F32 score = fragments[f].regs().get(2 * half + c);
                    k.set(score, k.select(k.lt(rowLimit, k.s32(8 * f + c)), k.f32(Float.NEGATIVE_INFINITY), score));
                }
            }
        }
    }
}
