package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import java.util.function.BiConsumer;

/**
 * Turns a shared bitmap of marked key blocks into a query block's ranges: each word finds the runs that start and
 * end in it, block scans number the starts and the ends, and run r becomes {@code [64 c0, min(64 (c1 + 1), m1))}.
 */
final class KeyBlockRuns {
    private KeyBlockRuns() {
    }

    /**
     * Writes the runs of {@code bitmap}'s first {@code words} words as ranges at {@code ranges} (pairs of int32, at
     * most {@code capacity}) and returns how many runs there are, in every thread. Every thread must call it.
     */
    static U32 write(KernelBuilder k, U32 bitmap, U32 words, U32 scratch, U32 tid, int threads, U64 ranges,
                     U32 capacity, U32 m1) {
        U32 startsBefore = k.var("startsBefore", k.u32(0));
        U32 endsBefore = k.var("endsBefore", k.u32(0));
        k.loop(k.u32(0), words, threads, base -> {
            U32 w = k.add(base, tid);
            U32 word = k.var("word", k.u32(0));
            U32 previousTop = k.var("previousTop", k.u32(0));
            U32 nextLow = k.var("nextLow", k.u32(0));
            k.ifThen(k.lt(w, words), () -> {
                k.set(word, k.loadU32(k.element(bitmap, w, 4)));
                k.ifThen(k.gt(w, k.u32(0)),
                        () -> k.set(previousTop, k.shr(k.loadU32(k.element(bitmap, k.sub(w, 1), 4)), 31)));
                k.ifThen(k.lt(k.add(w, 1), words),
                        () -> k.set(nextLow, k.and(k.loadU32(k.element(bitmap, k.add(w, 1), 4)), 1)));
            });
            U32 starts = k.and(word, k.not(k.or(k.shl(word, 1), previousTop)));
            U32 ends = k.and(word, k.not(k.or(k.shr(word, 1), k.shl(nextLow, 31))));
            EstimationOps.Scan startScan = EstimationOps.exclusiveScan(k, EstimationOps.popc(k, starts), scratch,
                    tid, threads / 32);
            EstimationOps.Scan endScan = EstimationOps.exclusiveScan(k, EstimationOps.popc(k, ends), scratch, tid,
                    threads / 32);
            U32 firstBlock = k.shl(w, 5);
            eachBit(k, starts, k.add(startsBefore, startScan.prefix()), capacity, firstBlock, (r, block) ->
                    k.store(Address.global(k.add(ranges, k.mulWide(r, 8))), k.shl(block, 6)));
            eachBit(k, ends, k.add(endsBefore, endScan.prefix()), capacity, firstBlock, (r, block) ->
                    k.store(Address.global(k.add(ranges, k.mulWide(r, 8))).plus(4),
                            k.min(k.shl(k.add(block, 1), 6), m1)));
            k.set(startsBefore, k.add(startsBefore, startScan.total()));
            k.set(endsBefore, k.add(endsBefore, endScan.total()));
        });
        return startsBefore;
    }

    /** Calls {@code write(r, firstBlock + bit)} for each set bit, lowest first, r counting up from {@code first}. */
    private static void eachBit(KernelBuilder k, U32 bits, U32 first, U32 capacity, U32 firstBlock,
                                BiConsumer<U32, U32> write) {
        U32 left = k.var("bitsLeft", bits);
        U32 r = k.var("run", first);
        k.whileLoop(() -> k.ne(left, k.u32(0)), () -> {
            U32 lowest = k.and(left, k.not(k.sub(left, 1)));
            U32 block = k.add(firstBlock, EstimationOps.popc(k, k.sub(lowest, 1)));
            k.ifThen(k.lt(r, capacity), () -> write.accept(r, block));
            k.set(r, k.add(r, 1));
            k.set(left, k.xor(left, lowest));
        });
    }
}
