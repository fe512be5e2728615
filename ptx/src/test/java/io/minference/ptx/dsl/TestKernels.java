package io.minference.ptx.dsl;

import java.util.List;

/** Kernels that exercise DSL features the samples do not: every instruction family at least once. */
final class TestKernels {
    private TestKernels() {
    }

    /** Conversions, fast math, selects, predicates, atomics, votes and the loop forms. */
    record EveryFamily(int unroll) implements KernelDefinition {
        @Override
        public String entryName() {
            return "every_family_u" + unroll;
        }

        @Override
        public void define(KernelBuilder k) {
            U64 data = k.pointerParam("data");
            U64 packed = k.pointerParam("packed");
            U32 n = k.u32Param("n");
            S32 bias = k.s32Param("bias");
            F32 scale = k.f32Param("scale");
            U32 tid = k.threadIdx();
            F32 x = k.loadF32(k.element(data, tid, 4)).named("x");
            F32 y = k.add(k.mul(k.ex2(x), k.rcp(scale)), k.lg2(k.abs(x)));
            y = k.add(y, k.rsqrt(k.sqrt(k.max(x, k.f32(1f)))));
            y = k.add(y, k.add(k.tanh(x), k.exp(k.neg(x))));
            S32 asInt = k.add(k.toS32(y), bias);
            F32 back = k.toF32(k.shr(asInt, 1));
            Bf16x2 bf = k.packBf16(x, y);
            F16x2 half = k.packF16(x, back);
            k.store(k.element(packed, tid, 4), bf);
            F32 roundTrip = k.add(k.add(k.lowF32(bf), k.highF32(bf)), k.add(k.lowF32(half), k.highF32(half)));
            B16 single = k.toBf16(roundTrip);
            F32 widened = k.add(k.bf16ToF32(single), k.halfToF32(k.toF16(roundTrip)));
            Pred inRange = k.and(k.lt(tid, n), k.not(k.eq(asInt, k.s32(0))));
            F32 chosen = k.select(inRange, widened, k.f32(0));
            k.atomicAdd(k.element(data, k.u32(0), 4), chosen);
            k.reduceAdd(k.element(data, k.u32(1), 4), chosen);
            k.atomicMax(Address.global(packed).plus(8), k.toU32(asInt));
            k.atomicCompareAndSwap(Address.global(packed).plus(12), k.b32(0), k.bits(chosen));
            B32 votes = k.xor(k.ballot(inRange), k.permute(k.bits(x), k.b32(0x4B000000), 0x7170));
            k.ifElse(k.all(inRange), () -> k.store(Address.global(packed), votes),
                    () -> k.ifThen(k.any(inRange), () -> k.store(Address.global(packed).plus(4), k.u32(7))));
            F32 acc = k.var("acc", k.f32(0));
            k.loop(tid, n, k.u32(32), unroll == 0 ? Unroll.AUTO : Unroll.by(unroll), i ->
                    k.set(acc, k.add(acc, k.loadF32(k.element(data, i, 4)))));
            k.loop(k.u32(0), n, k.u32(1), Unroll.NONE, i -> k.set(acc, k.mul(acc, 0.5f)));
            F32 fromLane = k.shuffleIndex(k.shuffleDown(k.shuffleUp(acc, 1), 2), k.u32(0));
            k.store(k.element(data, tid, 4), fromLane);
            k.fenceDevice();
        }
    }

    /** Shared memory, cp.async and one warp's ldmatrix + mma in f16 and bf16. */
    record OneMma() implements KernelDefinition {
        @Override
        public String entryName() {
            return "one_mma";
        }

        @Override
        public void define(KernelBuilder k) {
            U64 in = k.pointerParam("in");
            U64 out = k.pointerParam("out");
            U32 lane = k.laneId();
            U32 tile = k.sharedArray("tile", 16 * 16 * 2);
            k.copyAsync(k.element(tile, lane, 16), k.element(in, lane, 16), 16);
            k.commitGroup();
            k.waitAll();
            k.barrier();
            Address rows = k.element(tile, k.and(lane, 15), 32);
            List<F16x2> a = k.loadMatrix(HalfType.F16, rows, 4, false);
            List<F16x2> b = k.loadMatrix(HalfType.F16, rows, 2, true);
            List<Bf16x2> a2 = k.loadMatrix(HalfType.BF16, rows, 4, false);
            List<Bf16x2> b2 = k.loadMatrix(HalfType.BF16, rows, 1, false);
            FragmentC acc = k.zeroAccumulator("acc");
            k.mma(acc, new FragmentA<>(a), new FragmentB<>(b));
            k.mma(acc, new FragmentA<>(a2), new FragmentB<>(List.of(b2.getFirst(), b2.getFirst())));
            k.storeVector(k.element(out, lane, 16), acc.regs().toArray(Reg[]::new));
        }
    }
}
