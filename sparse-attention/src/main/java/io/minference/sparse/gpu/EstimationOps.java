package io.minference.sparse.gpu;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * What the estimation kernels share that the DSL's families do not offer: population count, a shared-memory or,
 * rounding a float up to an integer, and a block-wide exclusive scan of one u32 per thread.
 */
final class EstimationOps {
    /** The bits of +inf: the key forced entries get, above every finite non-negative score's bits. */
    static final int INFINITY_BITS = 0x7F800000;

    private EstimationOps() {
    }

    static U32 popc(KernelBuilder k, U32 value) {
        U32 d = k.emitter().like(value, "popc");
        k.emitter().instruction("popc.b32", d, value);
        return d;
    }

    static void sharedOr(KernelBuilder k, Address at, U32 bits) {
        k.emitter().instruction("red.shared.or.b32", at, bits);
    }

    static void globalOr(KernelBuilder k, Address at, U32 bits) {
        k.emitter().instruction("red.global.or.b32", at, bits);
    }

    /** {@code value << amount} for an amount in a register (0..31). */
    static U32 shiftLeft(KernelBuilder k, U32 value, U32 amount) {
        U32 d = k.emitter().like(value, "shl");
        k.emitter().instruction("shl.b32", d, value, amount);
        return d;
    }

    /** {@code value >>> amount} for an amount in a register (0..31). */
    static U32 shiftRight(KernelBuilder k, U32 value, U32 amount) {
        U32 d = k.emitter().like(value, "shr");
        k.emitter().instruction("shr.u32", d, value, amount);
        return d;
    }

    /** The bits of an unsigned integer read as a float. */
    static F32 asFloat(KernelBuilder k, U32 bits) {
        F32 d = k.emitter().like(k.f32(0), "f");
        k.emitter().instruction("mov.b32", d, bits);
        return d;
    }

    /** ceil(x) as an unsigned integer, saturating at 0 for negative x. */
    static U32 ceilToU32(KernelBuilder k, F32 x) {
        U32 d = k.emitter().like(k.u32(0), "ceil");
        k.emitter().instruction("cvt.rpi.sat.u32.f32", d, x);
        return d;
    }

    /**
     * {@code body(i, load(i))} for {@code i = from, from + stride, ...} below {@code end}, {@code batch} at a time:
     * a batch's loads are all issued (an index past {@code end} loads item {@code end - 1} instead) before any of its
     * bodies runs, and the bodies of indices past {@code end} are skipped. A thread then waits for one round trip to
     * memory a batch instead of one an item, which a loop taking one item an iteration waited for in turn.
     */
    static <T> void batchedLoop(KernelBuilder k, U32 from, U32 end, int stride, int batch, Function<U32, T> load,
                                BiConsumer<U32, T> body) {
        U32 last = k.sub(end, 1);
        k.loop(from, end, (long) stride * batch, first -> {
            U32[] index = new U32[batch];
            List<T> loaded = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                index[b] = k.add(first, stride * b);
                loaded.add(load.apply(k.min(index[b], last)));
            }
            // the loop's own bound covers the first
            body.accept(index[0], loaded.get(0));
            for (int b = 1; b < batch; b++) {
                U32 at = index[b];
                T item = loaded.get(b);
                k.ifThen(k.lt(at, end), () -> body.accept(at, item));
            }
        });
    }

    /** The result of {@link #exclusiveScan}: this thread's exclusive prefix and the block's total. */
    record Scan(U32 prefix, U32 total) {
    }

    /**
     * Exclusive prefix sum of {@code value} over the block's threads in thread order. Every thread must call it;
     * {@code scratch} is a shared array of at least {@code warps} words, free again when it returns.
     */
    static Scan exclusiveScan(KernelBuilder k, U32 value, U32 scratch, U32 tid, int warps) {
        U32 lane = k.and(tid, 31);
        U32 inclusive = value;
        for (int offset = 1; offset < 32; offset *= 2) {
            U32 up = k.shuffleUp(inclusive, offset);
            Pred has = k.ge(lane, k.u32(offset));
            inclusive = k.add(inclusive, k.select(has, up, k.u32(0)));
        }
        return acrossWarps(k, k.sub(inclusive, value), inclusive, scratch, tid, warps);
    }

    /**
     * {@link #exclusiveScan} of a flag, 1 where it holds: within a warp a ballot and two bit counts instead of five
     * shuffle steps, the same prefixes and total.
     */
    static Scan flagScan(KernelBuilder k, Pred flag, U32 scratch, U32 tid, int warps) {
        U32 votes = k.bitsAsU32(k.ballot(flag));
        return acrossWarps(k, k.bitCount(k.and(votes, k.lanesBelow())), k.bitCount(votes), scratch, tid, warps);
    }

    /**
     * The block's scan from each warp's: {@code inWarp} is this thread's exclusive prefix within its warp,
     * {@code warpTotal} the warp's total (read from lane 31).
     */
    private static Scan acrossWarps(KernelBuilder k, U32 inWarp, U32 warpTotal, U32 scratch, U32 tid, int warps) {
        U32 lane = k.and(tid, 31);
        U32 warp = k.shr(tid, 5);
        k.ifThen(k.eq(lane, 31), () -> k.store(k.element(scratch, warp, 4), warpTotal));
        k.barrier();
        U32 before = k.var("scanBefore", k.u32(0));
        U32 total = k.var("scanTotal", k.u32(0));
        for (int w = 0; w < warps; w++) {
            U32 count = k.loadU32(Address.shared(scratch).plus(4L * w));
            k.set(total, k.add(total, count));
            k.set(before, k.add(before, k.select(k.gt(warp, k.u32(w)), count, k.u32(0))));
        }
        k.barrier();
        return new Scan(k.add(before, inWarp), total);
    }
}
