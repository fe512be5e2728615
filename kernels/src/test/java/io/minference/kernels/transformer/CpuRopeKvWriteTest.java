package io.minference.kernels.transformer;

import io.minference.kernels.cpu.Rope;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuRopeKvWriteTest {
    private static final RopeKvWrite SHAPE = new RopeKvWrite(2, 1, 8);
    private static final float THETA = 10000f;
    private static final float SENTINEL = 1024f;

    @Test
    void rotatesQAndKIntoPlaceAndCopiesV() {
        int tokens = 3, start = 4, capacity = 10;
        SplittableRandom random = new SplittableRandom(7);
        try (Tensor qkv = Tensor.allocate(DType.BF16, tokens, SHAPE.rowWidth());
             Tensor q = Tensor.allocate(DType.BF16, tokens, SHAPE.qWidth());
             Tensor k = Tensor.allocate(DType.BF16, capacity, SHAPE.kvWidth());
             Tensor v = Tensor.allocate(DType.BF16, capacity, SHAPE.kvWidth())) {
            for (long i = 0; i < qkv.elementCount(); i++) Bf16Host.set(qkv, i, (float) random.nextGaussian());
            for (long i = 0; i < k.elementCount(); i++) {
                Bf16Host.set(k, i, SENTINEL);
                Bf16Host.set(v, i, SENTINEL);
            }
            new CpuRopeKvWrite(SHAPE, new Rope(8, THETA, null)).apply(qkv, tokens, start, q, k, v);

            for (int t = 0; t < tokens; t++) {
                int position = start + t;
                long in = (long) t * SHAPE.rowWidth();
                for (int head = 0; head < 2; head++) {
                    for (int i = 0; i < 4; i++) {
                        int j = head * 8 + 2 * i;
                        assertRotated(qkv, in + j, position, i, Bf16Host.get(q, (long) t * 16 + j),
                                Bf16Host.get(q, (long) t * 16 + j + 1));
                    }
                }
                for (int i = 0; i < 4; i++) {
                    assertRotated(qkv, in + 16 + 2 * i, position, i, Bf16Host.get(k, position * 8L + 2 * i),
                            Bf16Host.get(k, position * 8L + 2 * i + 1));
                }
                for (int j = 0; j < 8; j++) {
                    assertEquals(Bf16Host.get(qkv, in + 24 + j), Bf16Host.get(v, position * 8L + j), "V copied");
                }
            }
            for (int row : new int[] {0, 3, 7, 9}) {
                for (int j = 0; j < 8; j++) {
                    assertEquals(SENTINEL, Bf16Host.get(k, row * 8L + j), "K row " + row + " untouched");
                    assertEquals(SENTINEL, Bf16Host.get(v, row * 8L + j), "V row " + row + " untouched");
                }
            }
        }
    }

    private static void assertRotated(Tensor qkv, long at, int position, int pair, float gotA, float gotB) {
        double a = Bf16Host.get(qkv, at), b = Bf16Host.get(qkv, at + 1);
        double angle = position * Math.pow(THETA, -2.0 * pair / 8);
        double expectA = a * Math.cos(angle) - b * Math.sin(angle);
        double expectB = a * Math.sin(angle) + b * Math.cos(angle);
        assertTrue(Math.abs(gotA - expectA) <= ulp(expectA), gotA + " vs " + expectA);
        assertTrue(Math.abs(gotB - expectB) <= ulp(expectB), gotB + " vs " + expectB);
    }

    /** One bf16 ulp at |x| (8 significant bits). */
    static double ulp(double x) {
        return Math.ulp((float) Math.abs(x)) * 65536.0;
    }

    @Test
    void refusesPositionsPastTheCacheAndMismatchedHeads() {
        try (Tensor qkv = Tensor.allocate(DType.BF16, 2, SHAPE.rowWidth());
             Tensor q = Tensor.allocate(DType.BF16, 2, SHAPE.qWidth());
             Tensor k = Tensor.allocate(DType.BF16, 4, SHAPE.kvWidth());
             Tensor v = Tensor.allocate(DType.BF16, 4, SHAPE.kvWidth())) {
            CpuRopeKvWrite twin = new CpuRopeKvWrite(SHAPE, new Rope(8, THETA, null));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> twin.apply(qkv, 2, 3, q, k, v));
            assertTrue(e.getMessage().contains("KV cache of 4 rows"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new CpuRopeKvWrite(SHAPE, new Rope(16, THETA, null)));
        assertEquals(BFloat16.round(1f), 1f);
    }
}
