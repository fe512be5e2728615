package io.minference.kernels.dequant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.quant.BlockDecoder;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU twin against the F32 reference (the scalar block decoders): on random blocks, every written element is the
 * reference's f32 value rounded to nearest-even bf16 (so within 2^-8 of it, relatively: half a bf16 ulp), the columns beyond the width
 * keep their poison, and shapes the kernel cannot take are refused with their numbers.
 */
class CpuDequantizeToBf16Test {
    private static final short POISON = (short) 0x7FC1;

    static Iterable<DType> types() {
        return DequantizeToBf16.TYPES;
    }

    @ParameterizedTest
    @MethodSource("types")
    void everyElementIsTheReferenceRoundedToNearestEven(DType type) {
        long seed = System.nanoTime();
        System.out.println(type + " twin seed " + seed);
        int rows = 5;
        int width = 3 * DequantizeToBf16.unit(type);
        int stride = width + 24;
        MemorySegment blocks = RandomBlocks.of(type, rows, width, new SplittableRandom(seed));
        short[] out = new short[rows * stride];
        Arrays.fill(out, POISON);
        CpuDequantizeToBf16.dequantize(type, blocks, rows, width, MemorySegment.ofArray(out), stride);

        float[] reference = new float[rows * width];
        BlockDecoder.forType(type).decode(blocks, 0, MemorySegment.ofArray(reference), 0,
                (long) rows * width / type.blockSize());
        int inexact = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < stride; c++) {
                short got = out[r * stride + c];
                if (c >= width) {
                    assertEquals(POISON, got, "seed " + seed + ": padding column " + c + " of row " + r + " written");
                    continue;
                }
                float f = reference[r * width + c];
                float g = BFloat16.toFloat(got);
                assertTrue(Float.isFinite(f), "seed " + seed + ": the reference decoded a non-finite value");
                // half a bf16 step: 2^-8 of the value, or of the smallest normal where the value is subnormal (the
                // step stops shrinking there: 2.861185E-39 rounds to 2.8469E-39, 0.5 % off and exact)
                assertTrue(Math.abs(g - f) <= Math.max(Math.abs(f), Float.MIN_NORMAL) * 0x1p-8f,
                        "seed " + seed + ": row " + r + " column " + c + ": " + g + " is not " + f + " in bf16");
                assertEquals(BFloat16.fromFloat(f), got, "seed " + seed + ": row " + r + " column " + c);
                if (g != f) inexact++;
            }
        }
        if (type == DType.BF16) {
            assertEquals(0, inexact, "bf16 values pass unchanged");
        } else {
            assertTrue(inexact > 0, "random blocks should need rounding somewhere");
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void shapesTheKernelCannotTakeAreRefused(DType type) {
        int unit = DequantizeToBf16.unit(type);
        MemorySegment blocks = MemorySegment.ofArray(new byte[(int) type.byteSize(4L * unit)]);
        MemorySegment out = MemorySegment.ofArray(new short[4 * unit + 64]);
        var partial = assertThrows(IllegalArgumentException.class,
                () -> CpuDequantizeToBf16.dequantize(type, blocks, 1, unit + 1, out, 512));
        assertTrue(partial.getMessage().contains("whole " + type + " units"), partial.getMessage());
        var narrow = assertThrows(IllegalArgumentException.class,
                () -> CpuDequantizeToBf16.dequantize(type, blocks, 2, 2L * unit, out, unit));
        assertTrue(narrow.getMessage().contains("row stride"), narrow.getMessage());
    }
}
