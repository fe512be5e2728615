package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;

import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The selection rule of docs/sparse-attention.md as kernel code, for one list of candidate scores per thread block:
 * forced entries count as +inf, candidates rank by score descending and then by lower index, and a top-k or mass
 * budget keeps a prefix of that order. Scores are non-negative floats, so their bits order as they do; a radix
 * descent over the key bits (four passes of 8 bits, counting entries for top-k and summing scores for mass) finds the
 * last kept key T and how many entries equal to T are kept; a stable compaction in index order then writes the kept
 * indices ascending.
 * <p>Each pass over the candidates takes them {@code batch} a thread at a time: the batch's loads are issued before
 * any of its candidates is counted, so that a thread waits for one round trip to memory per batch instead of one per
 * candidate (a list in global memory: 256 candidates a thread and pass at 128K tokens, each waited for in turn
 * when the loop took one at a time). A batch of one suits candidates in shared memory.
 */
final class ScoreSelect {
    static final int DIGITS = 256;

    private final KernelBuilder k;
    private final int threads;
    private final int batch;
    private final U32 tid;
    private final U32 counts;
    private final U32 sums;
    private final U32 control;
    private final U32 scratch;

    /**
     * Declares the shared arrays the selection uses; {@code threads} is the block size, {@code batch} the candidates
     * a thread loads at once.
     */
    ScoreSelect(KernelBuilder k, int threads, int batch, U32 tid) {
        if (batch < 1) throw new IllegalArgumentException("a batch holds at least one candidate, not " + batch);
        this.k = k;
        this.threads = threads;
        this.batch = batch;
        this.tid = tid;
        this.counts = k.sharedArray("selectCounts", DIGITS * 4);
        this.sums = k.sharedArray("selectSums", DIGITS * 4);
        this.control = k.sharedArray("selectControl", 8 * 4);
        this.scratch = k.sharedArray("selectScan", 32 * 4);
    }

    /** The outcome: keep every key above {@code threshold} and the first {@code equalKept} keys equal to it. */
    record Threshold(U32 threshold, U32 equalKept) {
    }

    /**
     * A candidate whose loads have been issued: its key (the score's bits, or +inf's for forced entries) and its real
     * score, each emitted where it is asked for.
     */
    record Candidate(Supplier<U32> key, Supplier<F32> score) {
    }

    /**
     * Finds the threshold over {@code count} (at least one) candidates; {@code candidates} issues candidate j's loads
     * (j < count only). With {@code mass} false, {@code topK} (1..count) entries are kept; with it true, entries are
     * kept in order until the kept real scores reach {@code target} (everything, if they never do).
     */
    Threshold threshold(U32 count, Function<U32, Candidate> candidates, Pred mass, U32 topK, F32 target) {
        U32 prefix = k.var("prefix", k.u32(0));
        U32 mask = k.var("mask", k.u32(0));
        U32 remaining = k.var("remaining", topK);
        F32 remainingMass = k.var("remainingMass", target);
        U32 equalCount = k.var("equalCount", k.u32(0));
        for (int shift = 24; shift >= 0; shift -= 8) {
            int bits = shift;
            k.loop(tid, k.u32(DIGITS), threads, d -> {
                k.store(k.element(counts, d, 4), k.u32(0));
                k.store(k.element(sums, d, 4), k.f32(0));
            });
            k.barrier();
            EstimationOps.batchedLoop(k, tid, count, threads, batch, candidates, (j, candidate) -> {
                U32 keyBits = candidate.key().get();
                k.ifThen(k.eq(k.and(keyBits, mask), prefix), () -> {
                    U32 digit = k.and(k.shr(keyBits, bits), 255);
                    // the lowest lane of those with this digit counts them all: a pass's candidates crowd into a
                    // few digits (the first pass's are a float's sign and top exponent bits, a dozen or so values
                    // for a head's scores), and an add per lane queued up on those few counters
                    U32 peers = k.matchAny(digit, k.activeMask());
                    k.ifThen(k.eq(k.and(peers, k.lanesBelow()), 0),
                            () -> k.reduceAdd(k.element(counts, digit, 4), k.bitCount(peers)));
                    k.ifThen(mass, () -> k.reduceAdd(k.element(sums, digit, 4), candidate.score().get()));
                });
            });
            k.barrier();
            k.ifThen(k.eq(tid, 0), () -> chooseDigit(bits, mass, prefix, mask, remaining, remainingMass));
            k.barrier();
            k.set(prefix, k.loadU32(Address.shared(control)));
            k.set(mask, k.loadU32(Address.shared(control).plus(4)));
            k.set(remaining, k.loadU32(Address.shared(control).plus(8)));
            k.set(remainingMass, k.loadF32(Address.shared(control).plus(12)));
            k.set(equalCount, k.loadU32(Address.shared(control).plus(16)));
            k.barrier();
        }
        F32 thresholdScore = EstimationOps.asFloat(k, prefix);
        Pred keepAllEqual = k.or(k.eq(prefix, k.u32(EstimationOps.INFINITY_BITS)), k.eq(prefix, k.u32(0)));
        U32 byMass = k.min(equalCount, k.max(k.u32(1),
                EstimationOps.ceilToU32(k, k.div(remainingMass, thresholdScore))));
        U32 massKept = k.select(keepAllEqual, equalCount, byMass);
        return new Threshold(prefix, k.select(mass, massKept, remaining));
    }

    /** Thread 0: the digit of this pass holding the last kept entry, scanning digits from the top. */
    private void chooseDigit(int shift, Pred mass, U32 prefix, U32 mask, U32 remaining, F32 remainingMass) {
        U32 found = k.var("found", k.u32(0));
        U32 chosen = k.var("chosen", k.u32(0));
        U32 above = k.var("above", k.u32(0));
        F32 aboveMass = k.var("aboveMass", k.f32(0));
        U32 lowest = k.var("lowest", k.u32(0));
        U32 aboveLowest = k.var("aboveLowest", k.u32(0));
        F32 aboveMassLowest = k.var("aboveMassLowest", k.f32(0));
        k.loop(k.u32(0), k.u32(DIGITS), 1, step -> {
            U32 digit = k.sub(k.u32(DIGITS - 1), step);
            U32 c = k.loadU32(k.element(counts, digit, 4));
            F32 s = k.loadF32(k.element(sums, digit, 4));
            k.ifThen(k.eq(found, 0), () -> {
                Pred byCount = k.ge(k.add(above, c), remaining);
                Pred byMass = k.and(k.ge(k.add(aboveMass, s), remainingMass), k.gt(c, k.u32(0)));
                k.ifThen(k.gt(c, k.u32(0)), () -> {
                    k.set(lowest, digit);
                    k.set(aboveLowest, above);
                    k.set(aboveMassLowest, aboveMass);
                });
                k.ifElse(k.or(k.and(mass, byMass), k.and(k.not(mass), byCount)),
                        () -> {
                            k.set(found, k.u32(1));
                            k.set(chosen, digit);
                        }, () -> {
                            k.set(above, k.add(above, c));
                            k.set(aboveMass, k.add(aboveMass, s));
                        });
            });
        });
        // Mass that float rounding never lets reach the target: keep the whole subtree, down to its lowest key.
        k.ifThen(k.eq(found, 0), () -> {
            k.set(chosen, lowest);
            k.set(above, aboveLowest);
            k.set(aboveMass, aboveMassLowest);
        });
        Address at = Address.shared(control);
        k.store(at, k.or(prefix, k.shl(chosen, shift)));
        k.store(at.plus(4), k.or(mask, k.u32(255L << shift)));
        k.store(at.plus(8), k.sub(remaining, above));
        k.store(at.plus(12), k.sub(remainingMass, aboveMass));
        k.store(at.plus(16), k.loadU32(k.element(counts, chosen, 4)));
    }

    /**
     * Stable compaction: calls {@code write(position, j)} for the kept candidates j, ascending, positions from 0,
     * and returns how many were kept (in every thread). Each batch of chunks of the block's threads reads its keys
     * before any thread writes, and a position never exceeds its index, so the output may overwrite the candidates'
     * own array. Every thread takes every chunk (the scans wait for the whole block): the loop runs over the chunks'
     * first index, {@code tid} further for this thread.
     */
    U32 compact(U32 count, Function<U32, Candidate> candidates, Threshold threshold, BiConsumer<U32, U32> write) {
        U32 equalBefore = k.var("equalBefore", k.u32(0));
        U32 keptBefore = k.var("keptBefore", k.u32(0));
        // EstimationOps.batchedLoop's batches, but every thread takes every chunk, past the list or not
        U32 last = k.sub(count, 1);
        k.loop(tid, k.add(count, tid), (long) threads * batch, first -> {
            U32[] indices = new U32[batch];
            Candidate[] loaded = new Candidate[batch];
            for (int u = 0; u < batch; u++) {
                indices[u] = k.add(first, threads * u);
                loaded[u] = candidates.apply(k.min(indices[u], last));
            }
            for (int u = 0; u < batch; u++) {
                U32 j = indices[u];
                Pred inRange = k.lt(j, count);
                U32 keyBits = k.select(inRange, loaded[u].key().get(), k.u32(0));
                compactChunk(j, inRange, keyBits, threshold, write, equalBefore, keptBefore);
            }
        });
        return keptBefore;
    }

    /**
     * One chunk of the compaction: this thread's candidate {@code j} and its key; the kept ones written at their
     * positions, the running counts (every thread's) advanced past the chunk.
     */
    private void compactChunk(U32 j, Pred inRange, U32 keyBits, Threshold threshold, BiConsumer<U32, U32> write,
                              U32 equalBefore, U32 keptBefore) {
        Pred equal = k.and(inRange, k.eq(keyBits, threshold.threshold()));
        Pred greater = k.and(inRange, k.gt(keyBits, threshold.threshold()));
        EstimationOps.Scan equalScan = EstimationOps.flagScan(k, equal, scratch, tid, threads / 32);
        Pred keep = k.or(greater, k.and(equal,
                k.lt(k.add(equalBefore, equalScan.prefix()), threshold.equalKept())));
        EstimationOps.Scan keptScan = EstimationOps.flagScan(k, keep, scratch, tid, threads / 32);
        k.ifThen(keep, () -> write.accept(k.add(keptBefore, keptScan.prefix()), j));
        k.set(equalBefore, k.add(equalBefore, equalScan.total()));
        k.set(keptBefore, k.add(keptBefore, keptScan.total()));
    }
}
