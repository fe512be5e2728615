package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.sparse.CpuSparseAttention;
import io.minference.sparse.SparseIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the sparse kernels' tests check, wherever the kernel ran (a GPU, or the emulator): random bf16 problems, the
 * CPU reference ({@link CpuSparseAttention}), every element of the index's heads written and finite and every other
 * left poisoned, the norm-wise relative error at most {@link #TOLERANCE}, and every output row (query, head) within
 * {@code 2^-6} of its largest expected magnitude plus {@code 2^-10}.
 */
final class SparseAttentionChecks {
    static final double TOLERANCE = 1e-2;

    private SparseAttentionChecks() {
    }

    /** Per output row (query, head): max |error| at most 2^-6 of the row's largest expected magnitude plus 2^-10. */
    static void assertRowsWithinBounds(AttentionShape shape, float[] actual, double[] expected,
                                               String context) {
        int d = shape.headDim();
        List<String> report = new ArrayList<>();
        for (int row = 0; row < expected.length / d; row++) {
            if (Double.isNaN(expected[row * d])) continue;
            double rowMax = 0, maxError = 0;
            int where = 0;
            for (int i = 0; i < d; i++) {
                int at = row * d + i;
                rowMax = Math.max(rowMax, Math.abs(expected[at]));
                double e = Math.abs(actual[at] - expected[at]);
                if (e > maxError) {
                    maxError = e;
                    where = i;
                }
            }
            double bound = 0x1p-6 * rowMax + 0x1p-10;
            if (!(maxError <= bound) && report.size() < 12) {
                report.add("query " + row / shape.numHeads() + " head " + row % shape.numHeads() + ": max error "
                        + maxError + " > " + bound + " at column " + where + " (got " + actual[row * d + where]
                        + ", expected " + expected[row * d + where] + ")");
            }
        }
        assertTrue(report.isEmpty(), () -> context + ": rows over their bound:\n  " + String.join("\n  ", report));
    }


    record Problem(AttentionShape shape, int length, float[] q, float[] k, float[] v) {
        static final int SPARE_ROWS = 37;

        static Problem random(AttentionShape shape, int length, Random random) {
            return new Problem(shape, length, gaussians(random, length * shape.queryDim(), 1.5),
                    gaussians(random, length * shape.kvDim(), 1.0), gaussians(random, length * shape.kvDim(), 1.0));
        }

        static float[] gaussians(Random random, int n, double sigma) {
            float[] values = new float[n];
            for (int i = 0; i < n; i++) values[i] = BFloat16.round((float) (sigma * random.nextGaussian()));
            return values;
        }
    }


    static double[] cpuReference(Problem problem, SparseIndex index) {
        AttentionShape shape = problem.shape();
        int length = problem.length();
        float[] out = new float[length * shape.queryDim()];
        Arrays.fill(out, Float.NaN);
        try (Tensor q = Tensor.ofFloats(problem.q(), length, shape.queryDim());
             Tensor k = Tensor.ofFloats(problem.k(), length, shape.kvDim());
             Tensor v = Tensor.ofFloats(problem.v(), length, shape.kvDim());
             Tensor o = Tensor.ofFloats(out, length, shape.queryDim())) {
            CpuSparseAttention.attend(shape, q, k, v, o, index);
            return toDouble(o.toFloatArray());
        }
    }


    /**
     * A sparse kernel's output against the CPU reference: the index's heads written and no other ({@link
     * #assertHeads}), the whole within {@link #TOLERANCE} of it ({@link #relativeError}, printed) and every row within
     * its bound ({@link #assertRowsWithinBounds}). {@code context} names the kernel, the case and the seed.
     */
    static void assertMatchesReference(Problem problem, SparseIndex index, float[] actual, String context) {
        assertHeads(problem, index, actual, context);
        double[] expected = cpuReference(problem, index);
        double error = relativeError(actual, expected);
        System.out.printf("%s: relative error %.2e%n", context, error);
        assertTrue(error <= TOLERANCE, () -> context + ": relative error " + error);
        assertRowsWithinBounds(problem.shape(), actual, expected, context);
    }

    /** Every element of the index's heads written and finite; every other element still poison. */
    static void assertHeads(Problem problem, SparseIndex index, float[] actual, String seed) {
        int d = problem.shape().headDim();
        int queryDim = problem.shape().queryDim();
        for (int i = 0; i < actual.length; i++) {
            int head = (i % queryDim) / d;
            boolean inIndex = head >= index.firstHead() && head < index.firstHead() + index.heads();
            int at = i;
            if (inIndex) {
                assertFalse(Float.isNaN(actual[i]) || Float.isInfinite(actual[i]), () -> seed + ": element " + at
                        + " (query " + at / queryDim + ", head " + head + ") is " + actual[at]
                        + ": unwritten or not finite");
            } else {
                assertTrue(Float.isNaN(actual[i]), () -> seed + ": element " + at + " of head " + head
                        + ", outside the index, was written");
            }
        }
    }


    /** ||actual - expected|| / ||expected|| over the elements the reference defines (NaN there: skipped). */
    static double relativeError(float[] actual, double[] expected) {
        assertEquals(expected.length, actual.length);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i])) continue;
            double e = actual[i] - expected[i];
            diff += e * e;
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }


    static double[] toDouble(float[] values) {
        double[] result = new double[values.length];
        for (int i = 0; i < values.length; i++) result[i] = values[i];
        return result;
    }

    /**
     * {@code order} (the slot each block takes, in launch order) is a permutation of the launch's units, longest
     * first by {@link SlotOrder}'s buckets: a unit is a slot from {@code firstSlot} on, or with {@code pairs} a pair
     * of query blocks of a head (the last one alone when their count is odd).
     */
    static void assertLongestFirst(int[] order, SparseIndex host, int firstSlot, boolean pairs, String seed) {
        int queryBlocks = host.queryBlocks();
        int perUnit = pairs ? 2 : 1;
        int unitsPerHead = (queryBlocks + perUnit - 1) / perUnit;
        int slots = order.length;
        IntUnaryOperator unitTiles = unit -> {
            int head = firstSlot + unit / unitsPerHead;
            int block = unit % unitsPerHead * perUnit;
            int tiles = host.tiles(head, block);
            return pairs && block + 1 < queryBlocks ? tiles + host.tiles(head, block + 1) : tiles;
        };
        int width = SlotOrder.tilesPerBucket(queryBlocks * perUnit);
        boolean[] seen = new boolean[slots];
        int previous = Integer.MAX_VALUE;
        for (int place = 0; place < slots; place++) {
            int slot = order[place];
            int at = place;
            assertTrue(slot >= 0 && slot < slots && !seen[slot], () -> seed + ": place " + at + " holds slot "
                    + slot + ", out of range or taken twice");
            seen[slot] = true;
            int bucket = Math.min(unitTiles.applyAsInt(slot) / width, SlotOrder.BUCKETS - 1);
            int before = previous;
            assertTrue(bucket <= before, () -> seed + ": place " + at + " (slot " + slot + ") is in bucket "
                    + bucket + ", after bucket " + before);
            previous = bucket;
        }
    }
}
