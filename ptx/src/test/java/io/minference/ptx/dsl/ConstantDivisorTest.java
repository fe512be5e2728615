package io.minference.ptx.dsl;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ConstantDivisor}'s arithmetic against {@link Integer#divideUnsigned}: every divisor up to 4,096 and random
 * ones up to 2^31, each at the dividends where a magic number goes wrong first (around multiples of the divisor, the
 * top of the u32 range) and at random ones (seed printed). What the emitted PTX computes is checked in the kernels
 * module's emulator ({@code ConstantDivisionEmulationTest}).
 */
class ConstantDivisorTest {
    @Test
    void quotientsAreExactForEveryU32() {
        long seed = System.nanoTime();
        System.out.println("quotientsAreExactForEveryU32 seed " + seed);
        Random random = new Random(seed);
        List<Long> divisors = new ArrayList<>();
        for (long d = 1; d <= 4096; d++) divisors.add(d);
        for (int i = 0; i < 2000; i++) divisors.add(1 + (random.nextLong() & 0x7FFF_FFFFL));
        divisors.addAll(List.of(0x7FFF_FFFFL, 0x8000_0000L, 641L, 6_700_417L, 0x5555_5555L, 7L * 11 * 13 * 17));
        for (long d : divisors) {
            ConstantDivisor divisor = ConstantDivisor.of(d);
            assertTrue(divisor.multiplier() >= 0 && divisor.multiplier() < 1L << 32, "multiplier of " + d);
            List<Long> dividends = new ArrayList<>(List.of(0L, 1L, 0xFFFF_FFFFL, 0xFFFF_FFFEL, 0x8000_0000L));
            long top = 0xFFFF_FFFFL / d * d;
            for (long q : new long[] {d, 2 * d, top, top - d}) {
                for (long delta = -2; delta <= 2; delta++) {
                    long a = q + delta;
                    if (a >= 0 && a <= 0xFFFF_FFFFL) dividends.add(a);
                }
            }
            for (int i = 0; i < 64; i++) dividends.add(random.nextLong() & 0xFFFF_FFFFL);
            for (long a : dividends) {
                long expected = Integer.toUnsignedLong(Integer.divideUnsigned((int) a, (int) d));
                assertEquals(expected, divisor.apply(a), () -> a + " / " + d + " (" + divisor + "), seed " + seed);
            }
        }
    }

    @Test
    void threeTakesOneMultiplyAndSevenTheWideForm() {
        ConstantDivisor three = ConstantDivisor.of(3);
        assertEquals(0xAAAA_AAABL, three.multiplier());
        assertEquals(1, three.shift());
        assertFalse(three.wide());
        assertTrue(ConstantDivisor.of(7).wide(), "7 needs a 33-bit multiplier");
        assertTrue(ConstantDivisor.of(64).powerOfTwo());
    }

    @Test
    void divisorsOutsideTheRangeAreRefusedByName() {
        var zero = assertThrows(IllegalArgumentException.class, () -> ConstantDivisor.of(0));
        assertTrue(zero.getMessage().contains("not 0"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConstantDivisor.of((1L << 31) + 1));
    }
}
