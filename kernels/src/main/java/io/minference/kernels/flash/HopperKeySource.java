package io.minference.kernels.flash;

import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.WarpgroupAccumulator;
import io.minference.ptx.tile.WgmmaTile;

/**
 * Where the key tiles of a {@link HopperFlashPrefill} block come from, step by step: the one thing that differs
 * between dense causal and sparse prefill. The kernel owns the stage ring, the barriers, the wgmmas and the online
 * softmax; a source says how many steps a block takes, how the producer fills a stage for step {@code i}, and how
 * the consumers mask its scores. The causal source ({@link Causal}) walks the tiles below the block's diagonal,
 * unmasked, then the one or two that cross it, masked. A sparse source would walk an index's key ranges (TMA starts
 * a box at any row, so exact ranges cost nothing extra) and its gathered columns (16-byte cp.async by the producer
 * warps into the same swizzled layout), masking where a range crosses the diagonal.
 */
public interface HopperKeySource {
    /** Key steps this block takes, at least one. Emitted once by each role; both must get the same number. */
    U32 steps(KernelBuilder k);

    /** The first step whose scores need {@link #mask}: the steps before it are wholly visible to every row. */
    U32 firstMaskedStep(KernelBuilder k);

    /**
     * Producer (one thread): issues the copies of step {@code step} into {@code keys} and {@code values}, completing
     * on {@code full}, after announcing their bytes on it.
     */
    void load(KernelBuilder k, U32 step, WgmmaTile keys, WgmmaTile values, MBarrier full);

    /**
     * Consumers: sets to -inf the scores of step {@code step} that the thread's rows must not see. {@code rowPosition}
     * is the sequence position of the thread's first row (its second is 8 further) and {@code pair} its first column
     * within each 8-column fragment.
     */
    void mask(KernelBuilder k, U32 step, WarpgroupAccumulator scores, U32 rowPosition, U32 pair);
}
