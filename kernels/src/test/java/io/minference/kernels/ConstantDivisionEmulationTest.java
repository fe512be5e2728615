package io.minference.kernels;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PTX that {@code div(U32, long)} and {@code rem(U32, long)} emit (a shift or mask for a power of two, a
 * multiply-high and shifts otherwise, a register division past 2^31), run by {@link WarpEmulator}: for each divisor
 * of {@link Divisions#DIVISORS}, one warp's quotients and remainders of 32 dividends (edge values and random ones,
 * seed printed) equal {@link Integer#divideUnsigned} and {@link Integer#remainderUnsigned}.
 */
class ConstantDivisionEmulationTest {
    /** out[2 (d t + lane)] = in[lane] / DIVISORS[d], out[2 (d t + lane) + 1] = in[lane] % DIVISORS[d]. */
    record Divisions() implements KernelDefinition {
        static final long[] DIVISORS = {1, 2, 3, 5, 6, 7, 64, 100, 641, 1 << 20, 0x7FFF_FFFFL, 1L << 31,
                (1L << 31) + 5, 0xFFFF_FFFFL};

        @Override
        public String entryName() {
            return "constant_divisions";
        }

        @Override
        public void define(KernelBuilder k) {
            U64 in = k.pointerParam("in");
            U64 out = k.pointerParam("out");
            U32 lane = k.threadIdx();
            U32 a = k.loadU32(k.element(in, lane, 4));
            for (int d = 0; d < DIVISORS.length; d++) {
                U32 at = k.mul(k.add(k.u32(32L * d), lane), 2);
                k.store(k.element(out, at, 4), k.div(a, DIVISORS[d]));
                k.store(k.element(out, k.add(at, 1), 4), k.rem(a, DIVISORS[d]));
            }
        }
    }

    @Test
    void quotientsAndRemaindersMatchJava() {
        long seed = System.nanoTime();
        System.out.println("quotientsAndRemaindersMatchJava seed " + seed);
        Random random = new Random(seed);
        int[] dividends = new int[32];
        int[] fixed = {0, 1, 2, 3, 6, 7, 63, 64, 640, 641, 642, -1, -2, Integer.MIN_VALUE, Integer.MAX_VALUE,
                -7, -641};
        System.arraycopy(fixed, 0, dividends, 0, fixed.length);
        for (int i = fixed.length; i < dividends.length; i++) dividends[i] = random.nextInt();
        String ptx = new Divisions().emit(PtxTarget.SM_80).ptx();
        assertTrue(ptx.contains("mul.hi.u32"), "a constant divisor is a multiply-high");
        WarpEmulator gpu = new WarpEmulator(ptx);
        Map<String, Long> params = new HashMap<>();
        params.put("in", gpu.upload(WarpEmulator.u32Bytes(dividends)));
        long out = gpu.allocate(4 * 2 * 32 * Divisions.DIVISORS.length);
        params.put("out", out);
        gpu.runBlock(params, 0, 0, 1, 32);
        int[] got = WarpEmulator.u32s(gpu.bytes(out));
        for (int d = 0; d < Divisions.DIVISORS.length; d++) {
            int divisor = (int) Divisions.DIVISORS[d];
            for (int lane = 0; lane < 32; lane++) {
                int a = dividends[lane], at = 2 * (32 * d + lane);
                String what = Integer.toUnsignedString(a) + " by " + Integer.toUnsignedString(divisor) + ", seed " + seed;
                assertEquals(Integer.divideUnsigned(a, divisor), got[at], "quotient of " + what);
                assertEquals(Integer.remainderUnsigned(a, divisor), got[at + 1], "remainder of " + what);
            }
        }
    }
}
