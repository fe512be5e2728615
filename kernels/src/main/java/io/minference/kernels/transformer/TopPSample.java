package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.Reg;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * Temperature and top-p sampling of one row of f32 logits on the device, picking exactly the token that
 * {@link CpuTopPSample} (its definition and CPU twin) picks for the same uniform number: only the id crosses back.
 * One block of {@value #BLOCK} threads: the largest scaled logit; every token's integer weight, its key (the weight's
 * float bits) stored to a scratch array, and their exact sum W; then, with the candidates ordered by key descending
 * and id ascending but never sorted, "the first candidate where the running mass exceeds T" is found by bisecting
 * the key range (each step a block-wide exact u64 sum of the weights at or above the middle key) and, among the
 * tokens that share the key found, by counting in id order. That search runs once for the nucleus limit (giving the
 * nucleus mass M) and once for the sampled target {@code floor(M u)}. A row with no positive weight gives -1.
 * <p>Parameters: {@code logits} (f32 [vocab]), {@code keys} (u32 [vocab] scratch), {@code out} (s32 [1]),
 * {@code vocab} (u32, at most {@link CpuTopPSample#MAX_VOCAB}), {@code inverseTemperature} (f32, {@code 1f / T}),
 * {@code topP} (u32, {@link CpuTopPSample#topPFixed}), {@code u} (u32, {@link CpuTopPSample#uniformFixed}). Launch:
 * grid 1, block {@value #BLOCK}, no dynamic shared memory.
 */
public record TopPSample() implements KernelDefinition {
    public static final int BLOCK = 1024;
    private static final int WARPS = BLOCK / 32;
    private static final String NAME = "top-p sample";
    /** The key of +infinity: every finite weight's key lies below. */
    private static final long KEY_LIMIT = 0x7F80_0000L;

    @Override
    public String entryName() {
        return "top_p_sample_f32";
    }

    /**
     * Queues the sampling of {@code logits[0, vocab)} into {@code out[0]}; {@code keys} is scratch of at least
     * {@code vocab} u32.
     */
    public void launch(CudaStream stream, DeviceTensor logits, DeviceTensor keys, DeviceTensor out, int vocab,
                       float temperature, float topP, double u) {
        if (vocab < 1 || vocab > CpuTopPSample.MAX_VOCAB) {
            throw new IllegalArgumentException(NAME + ": takes 1 to " + CpuTopPSample.MAX_VOCAB + " logits, got "
                    + vocab);
        }
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException(NAME + ": needs a finite temperature > 0, got " + temperature);
        }
        LaunchChecks.holds(NAME, Buffer.of("logits", logits), DType.F32, vocab);
        LaunchChecks.holds(NAME, Buffer.of("keys", keys), DType.I32, vocab);
        LaunchChecks.holds(NAME, Buffer.of("out", out), DType.I32, 1);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), LaunchShape.of(1, BLOCK))
                .launch(stream, logits, keys, out, vocab, 1f / temperature, CpuTopPSample.topPFixed(topP),
                        (int) CpuTopPSample.uniformFixed(u));
    }

    @Override
    public void define(KernelBuilder k) {
        U64 logits = k.pointerParam("logits");
        U64 keys = k.pointerParam("keys");
        U64 out = k.pointerParam("out");
        U32 vocab = k.u32Param("vocab");
        F32 inverseTemperature = k.f32Param("inverseTemperature");
        U32 topP = k.u32Param("topP");
        U32 uniform = k.u32Param("u");
        k.maxThreadsPerBlock(BLOCK);
        k.describe("temperature + top-p sampling of one row, exact: integer weights, bisection over weight keys");
        U32 tid = k.threadIdx();
        U32 lane = k.and(tid, 31).named("lane");
        U32 warp = k.shr(tid, 5).named("warp");
        U32 warpMax = k.sharedArray("warpMax", WARPS * 4);
        U32 warpSums = k.sharedArray("warpSums", WARPS * 8);
        U32 warpCounts = k.sharedArray("warpCounts", WARPS * 4);
        U32 found = k.sharedArray("found", 4);
        Block block = new Block(k, lane, warp, warpMax, warpSums, warpCounts, inverseTemperature, logits);

        k.comment("the largest scaled logit (max.f32 passes over NaN)");
        F32 max = k.var("max", k.f32(Float.NEGATIVE_INFINITY));
        k.loop(tid, vocab, BLOCK, i -> k.set(max, k.max(max, scaled(k, logits, i, inverseTemperature))));
        F32 top = block.max(max);

        k.comment("keys and their integer weights; W, exact");
        U64 local = k.var("local", k.u64(0));
        k.loop(tid, vocab, BLOCK, i -> {
            U32 key = key(k, scaled(k, logits, i, inverseTemperature), top);
            k.store(k.element(keys, i, 4), key);
            k.set(local, k.add(local, weight(k, block, key)));
        });
        U64 total = block.sum(local);
        k.barrier();
        k.ifElse(k.eq(total, k.u64(0)), () -> k.ifThen(k.eq(tid, 0), () -> k.store(k.element(out, k.u32(0), 4),
                k.toS32(k.u32(0xFFFF_FFFFL)))), () -> {
            U64 limit = fixedProduct(k, total, topP, 24);
            U64 mass = k.var("mass", total);
            k.ifThen(k.lt(limit, total), () -> {
                Search nucleus = search(k, block, keys, vocab, limit);
                k.set(mass, k.add(nucleus.above(), k.mul(nucleus.ties(), nucleus.weight())));
            });
            U64 target = fixedProduct(k, mass, uniform, 32);
            Search pick = search(k, block, keys, vocab, target);
            U32 token = block.tieInIdOrder(keys, vocab, pick.key(), k.toU32(pick.ties()), tid, found);
            k.ifThen(k.eq(tid, 0), () -> k.store(k.element(out, k.u32(0), 4), k.toS32(token)));
        });
    }

    /** logits[i] * inverseTemperature, rounded once. */
    private static F32 scaled(KernelBuilder k, U64 logits, U32 i, F32 inverseTemperature) {
        return PtxOps.mulRounded(k, k.loadF32(k.element(logits, i, 4)), inverseTemperature);
    }

    /** {@link CpuTopPSample#key}, operation for operation. */
    private static U32 key(KernelBuilder k, F32 z, F32 top) {
        F32 t = PtxOps.mulRounded(k, raw(k, z, "d", "sub.rn.f32", z, top), k.f32(CpuTopPSample.LOG2_E));
        F32 n = raw(k, z, "n", "cvt.rmi.f32.f32", t);
        F32 f = raw(k, z, "f", "sub.rn.f32", t, n);
        float[] c = CpuTopPSample.EXP2_POLYNOMIAL;
        F32 p = k.f32(c[0]);
        for (int i = 1; i < c.length; i++) p = k.mad(p, f, k.f32(c[i]));
        Pred kept = k.ge(n, k.f32(-CpuTopPSample.WEIGHT_EXPONENT));
        // n is kept only when it lies in [-36, 0], so the exponent field stays in [127, 163]
        F32 clamped = k.max(n, k.f32(-CpuTopPSample.WEIGHT_EXPONENT));
        U32 exponent = k.add(k.toU32(k.toS32(clamped)), CpuTopPSample.WEIGHT_EXPONENT + 127);
        F32 scale = raw(k, z, "scale", "mov.b32", k.shl(exponent, 23));
        U32 bits = raw(k, exponent, "keyBits", "mov.b32", PtxOps.mulRounded(k, p, scale));
        return k.select(kept, bits, k.u32(0)).named("key");
    }

    /** The integer weight of a key: its float truncated. */
    private static U64 weight(KernelBuilder k, Block block, U32 key) {
        F32 value = raw(k, block.floatModel(), "w", "mov.b32", key);
        return raw(k, block.wideModel(), "weight", "cvt.rzi.u64.f32", value);
    }

    /** floor(a * b / 2^bits), exactly, for a below 2^54 and b below 2^bits ({@link CpuTopPSample}'s formulas). */
    private static U64 fixedProduct(KernelBuilder k, U64 a, U32 b, int bits) {
        U64 wide = k.toU64(b);
        U64 low = k.and(a, PtxOps.constant(k, (1L << bits) - 1));
        return k.add(k.mul(k.shr(a, bits), wide), k.shr(k.mul(low, wide), bits));
    }

    /** The result of a search: the key of the candidate found, the mass above that key, the weight and the rank. */
    private record Search(U32 key, U64 above, U64 weight, U64 ties) {
    }

    /**
     * The candidate (in key-descending, id-ascending order) at which the running mass first exceeds {@code limit}
     * (below W): the largest key whose "at or above" mass exceeds it, and how many of its ties are needed.
     */
    private static Search search(KernelBuilder k, Block block, U64 keys, U32 vocab, U64 limit) {
        U32 tid = k.threadIdx();
        U32 low = k.var("low", k.u32(0));
        U32 high = k.var("high", k.u32(KEY_LIMIT));
        U64 aboveHigh = k.var("aboveHigh", k.u64(0));
        k.whileLoop(() -> k.gt(k.sub(high, low), k.u32(1)), () -> {
            U32 middle = k.shr(k.add(low, high), 1);
            U64 part = k.var("part", k.u64(0));
            k.loop(tid, vocab, BLOCK, i -> {
                U32 key = k.loadU32(k.element(keys, i, 4));
                k.set(part, k.add(part, k.select(k.ge(key, middle), weight(k, block, key), k.u64(0))));
            });
            U64 atOrAbove = block.sum(part);
            Pred exceeds = k.gt(atOrAbove, limit);
            k.set(low, k.select(exceeds, middle, low));
            k.set(high, k.select(exceeds, high, middle));
            k.set(aboveHigh, k.select(exceeds, aboveHigh, atOrAbove));
        });
        U64 weight = weight(k, block, low);
        U64 ties = k.add(k.div(k.sub(limit, aboveHigh), weight), k.u64(1));
        return new Search(low, aboveHigh, weight, ties);
    }

    /**
     * Block-wide reductions and scans over {@value #BLOCK} threads, through shared per-warp slots; also registers
     * whose types new f32 and u64 registers copy.
     */
    private record Block(KernelBuilder k, U32 lane, U32 warp, U32 warpMax, U32 warpSums, U32 warpCounts,
                         F32 floatModel, U64 wideModel) {
        F32 max(F32 value) {
            F32 v = value;
            for (int mask = 16; mask >= 1; mask /= 2) v = k.max(v, k.shuffleXor(v, mask));
            F32 mine = v;
            k.ifThen(k.eq(lane, 0), () -> k.store(k.element(warpMax, warp, 4), mine));
            k.barrier();
            F32 result = k.var("blockMax", k.f32(Float.NEGATIVE_INFINITY));
            k.loop(k.u32(0), k.u32(WARPS), 1, w -> k.set(result, k.max(result, k.loadF32(k.element(warpMax, w, 4)))));
            return result;
        }

        /** The exact sum over the block; every thread gets it. Ends with a barrier, so the slots may be reused. */
        U64 sum(U64 value) {
            U64 v = value;
            for (int mask = 16; mask >= 1; mask /= 2) {
                U32 lowHalf = k.shuffleXor(k.toU32(v), mask);
                U32 highHalf = k.shuffleXor(k.toU32(k.shr(v, 32)), mask);
                v = k.add(v, k.or(k.shl(k.toU64(highHalf), 32), k.toU64(lowHalf)));
            }
            U64 mine = v;
            k.ifThen(k.eq(lane, 0), () -> k.store(k.element(warpSums, warp, 8), mine));
            k.barrier();
            U64 result = k.var("blockSum", k.u64(0));
            k.loop(k.u32(0), k.u32(WARPS), 1, w -> k.set(result, k.add(result, k.loadU64(k.element(warpSums, w, 8)))));
            k.barrier();
            return result;
        }

        /**
         * The id of the {@code rank}-th (from 1) token whose key is {@code key}, in id order: each thread counts the
         * ties in its own contiguous run of ids, an exclusive scan finds the run holding the rank, and that thread
         * walks its run again.
         */
        U32 tieInIdOrder(U64 keys, U32 vocab, U32 key, U32 rank, U32 tid, U32 found) {
            U32 run = k.div(k.add(vocab, BLOCK - 1), BLOCK).named("run");
            U32 first = k.min(k.mul(tid, run), vocab);
            U32 end = k.min(k.add(first, run), vocab);
            U32 count = k.var("count", k.u32(0));
            k.loop(first, end, 1, i -> k.set(count, k.add(count,
                    k.select(k.eq(k.loadU32(k.element(keys, i, 4)), key), k.u32(1), k.u32(0)))));
            U32 inclusive = k.var("inclusive", count);
            for (int delta = 1; delta < 32; delta *= 2) {
                U32 below = k.shuffleUp(inclusive, delta);
                k.set(inclusive, k.add(inclusive, k.select(k.ge(lane, k.u32(delta)), below, k.u32(0))));
            }
            k.ifThen(k.eq(lane, 31), () -> k.store(k.element(warpCounts, warp, 4), inclusive));
            k.barrier();
            U32 before = k.var("before", k.sub(inclusive, count));
            k.loop(k.u32(0), warp, 1, w -> k.set(before, k.add(before, k.loadU32(k.element(warpCounts, w, 4)))));
            k.ifThen(k.and(k.lt(before, rank), k.le(rank, k.add(before, count))), () -> {
                U32 seen = k.var("seen", before);
                k.loop(first, end, 1, i -> k.ifThen(k.eq(k.loadU32(k.element(keys, i, 4)), key), () -> {
                    k.set(seen, k.add(seen, 1));
                    k.ifThen(k.eq(seen, rank), () -> k.store(Address.shared(found), i));
                }));
            });
            k.barrier();
            return k.loadU32(Address.shared(found)).named("token");
        }
    }

    /** One instruction the DSL has no method for, into a new register of {@code model}'s type. */
    private static <R extends Reg> R raw(KernelBuilder k, R model, String hint, String opcode, Reg... operands) {
        R destination = k.emitter().like(model, hint);
        Object[] all = new Object[operands.length + 1];
        all[0] = destination;
        System.arraycopy(operands, 0, all, 1, operands.length);
        k.emitter().instruction(opcode, all);
        return destination;
    }
}
