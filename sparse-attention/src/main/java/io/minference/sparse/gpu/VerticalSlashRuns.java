package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * The runs of a vertical-slash head's kept diagonals, found once per head for every query block's index: two kept
 * diagonals δ &lt; δ' next to each other in the ascending list are in one run exactly when δ' - δ &lt;= 64. That is the
 * rule {@link IndexAssembly} applies in each query block [m0, m1) to the diagonals that cross it (δ &lt; m1): their
 * windows {@code [max(0, m0 - δ), min(m0 + 64 - δ, m1))} overlap or touch exactly then (a window clipped at key 0
 * belongs to a diagonal at or above m0, whose successor within 64 of it crosses the block only if it too is; one
 * clipped at m1 only happens below 64 - (m1 - m0), where no gap can exceed 64). So a block's ranges are the runs
 * whose first diagonal crosses it, the last of them cut at the block's last crossing diagonal, instead of a walk over
 * every kept diagonal in every block.
 * <p>Per slot, {@code runs[slot * stride + r] = (first δ, last δ)} of run r, ascending, and {@code runCounts[slot]};
 * {@code stride} = {@link #stride(int)} pairs, enough for any list (runs after the first start more than 64 above the
 * previous one's end). Besides, each kept diagonal δ sets bit δ of the slot's bitmap, {@link #bitWords(int)} words a
 * slot (zeroed before the launch), which {@link IndexAssembly} reads to tell covered columns. Parameters:
 * {@code params} (int32 {@link HeadParameters}), {@code lists}, {@code kept} (u32, as {@link VerticalSlashSelect}
 * leaves them), {@code runs} (u32 pairs, written), {@code runCounts} (u32, written), {@code diagonalBits} (u32 words,
 * or-ed into), {@code length} (u32). Launch: grid (heads of the batch), {@link #THREADS} threads; slots of other
 * patterns are left alone.
 */
public record VerticalSlashRuns() implements KernelDefinition {
    public static final int THREADS = 256;
    /** The most two kept diagonals of one run lie apart: a query block's 64 keys. */
    static final int GAP = 64;

    /** Run pairs per slot: at most one run per 65 positions, plus one. */
    public static int stride(int length) {
        return length / (GAP + 1) + 2;
    }

    /** Words of a slot's bitmap of kept diagonals: a bit a position. */
    public static int bitWords(int length) {
        return (length + 31) / 32;
    }

    /** Where slot {@code slot}'s bitmap of kept diagonals starts in {@code diagonalBits}. */
    static U64 slotBits(KernelBuilder k, U64 diagonalBits, U32 slot, U32 length) {
        return k.add(diagonalBits, k.mulWide(k.mul(slot, k.shr(k.add(length, 31), 5)), 4));
    }

    /** Where slot {@code slot}'s run pairs start in {@code runs}: {@link #stride} pairs a slot. */
    static U64 slotRuns(KernelBuilder k, U64 runs, U32 slot, U32 length) {
        return k.add(runs, k.mulWide(k.mul(slot, k.add(k.div(length, GAP + 1), 2)), 8));
    }

    @Override
    public String entryName() {
        return "vertical_slash_runs";
    }

    @Override
    public void define(KernelBuilder k) {
        U64 params = k.pointerParam("params");
        U64 lists = k.pointerParam("lists");
        U64 kept = k.pointerParam("kept");
        U64 runs = k.pointerParam("runs");
        U64 runCounts = k.pointerParam("runCounts");
        U64 diagonalBits = k.pointerParam("diagonalBits");
        U32 length = k.u32Param("length");
        k.maxThreadsPerBlock(THREADS);
        U32 scratch = k.sharedArray("scan", 32 * 4);
        U32 tid = k.threadIdx();
        U32 slot = k.blockIdx(Axis.X);
        U32 code = k.loadU32(k.element(params, k.mul(slot, HeadParameters.STRIDE), 4));
        k.ifThen(k.eq(code, HeadParameters.VERTICAL_SLASH), () -> {
            U64 diagonals = k.pointer(lists, k.mul(k.add(k.shl(slot, 1), k.u32(1)), length), 4);
            U32 count = k.loadU32(k.element(kept, k.add(k.shl(slot, 1), k.u32(1)), 4));
            U64 slotRuns = slotRuns(k, runs, slot, length);
            U64 bits = slotBits(k, diagonalBits, slot, length);
            U32 last = k.sub(k.max(count, k.u32(1)), 1);
            U32 runsBefore = k.var("runsBefore", k.u32(0));
            U32 base = k.var("diagonalBase", k.u32(0));
            // a block-uniform walk in chunks of THREADS diagonals: each thread's diagonal starts a run after a gap
            // of more than 64, ends one before such a gap; a block scan numbers the starts
            k.whileLoop(() -> k.lt(base, count), () -> {
                U32 i = k.add(base, tid);
                Pred inList = k.lt(i, count);
                // reads clamped into the list: past its end a thread reads the last entries (and writes nothing)
                U32 at = k.min(i, last);
                U32 delta = k.loadU32(k.element(diagonals, at, 4));
                U32 previous = k.loadU32(k.element(diagonals, k.sub(k.max(at, k.u32(1)), 1), 4));
                U32 next = k.loadU32(k.element(diagonals, k.min(k.add(i, 1), last), 4));
                Pred starts = k.and(inList, k.or(k.eq(i, k.u32(0)), k.gt(k.sub(delta, previous), k.u32(GAP))));
                Pred ends = k.and(inList, k.or(k.eq(i, last), k.gt(k.sub(next, delta), k.u32(GAP))));
                U32 start = k.select(starts, k.u32(1), k.u32(0));
                EstimationOps.Scan scan = EstimationOps.flagScan(k, starts, scratch, tid, THREADS / 32);
                // this diagonal's run: the starts before it, and its own if it starts one, less one
                U32 run = k.sub(k.add(k.add(runsBefore, scan.prefix()), start), 1);
                Address pair = Address.global(k.add(slotRuns, k.mulWide(run, 8)));
                k.ifThen(starts, () -> k.store(pair, delta));
                k.ifThen(ends, () -> k.store(pair.plus(4), delta));
                k.ifThen(inList, () -> EstimationOps.globalOr(k, Address.global(k.add(bits,
                        k.mulWide(k.shr(delta, 5), 4))), EstimationOps.shiftLeft(k, k.u32(1), k.and(delta, 31))));
                k.set(runsBefore, k.add(runsBefore, scan.total()));
                k.set(base, k.add(base, THREADS));
            });
            k.ifThen(k.eq(tid, 0), () -> k.store(k.element(runCounts, slot, 4), runsBefore));
        });
    }
}
