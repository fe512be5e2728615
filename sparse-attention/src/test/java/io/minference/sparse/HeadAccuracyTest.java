package io.minference.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HeadAccuracyTest {
    @Test
    void uniformAttentionUnderALocalWindowHasTheHandComputedRecallAndDensity() {
        // zero queries: row i spreads 1 / (i + 1) over keys 0..i; A-shape(0, 1) keeps the row's own block
        int length = 128;
        AttentionShape shape = new AttentionShape(1, 1, 1);
        try (Tensor q = Tensor.allocate(DType.F32, length, 1); Tensor k = TestTensors.random(new SplittableRandom(1), 1, length, 1);
             Tensor v = TestTensors.random(new SplittableRandom(2), 1, length, 1)) {
            var result = HeadAccuracy.measure(shape, q, k, v, length, List.of(new HeadPattern.AShape(0, 1))).get(0);
            double recall = 0, attended = 0, diff = 0, norm = 0;
            for (int i = 0; i < length; i++) {
                int first = (i / 64) * 64;
                int kept = i - first + 1;
                recall += (double) kept / (i + 1);
                attended += kept;
                // uniform weights: the sparse row is the mean of v over its block's keys, the dense row over 0..i
                double all = 0, local = 0;
                for (int j = 0; j <= i; j++) {
                    all += v.getFloat(j);
                    if (j >= first) local += v.getFloat(j);
                }
                double dense = all / (i + 1), sparse = local / kept;
                diff += (sparse - dense) * (sparse - dense);
                norm += dense * dense;
            }
            assertEquals(recall / length, result.recall(), 1e-6);
            assertEquals(attended / (length * (length + 1) / 2.0), result.density(), 1e-12);
            assertEquals("a-shape", result.pattern());
            double expectedError = Math.sqrt(diff / norm);
            assertTrue(expectedError > 0.1, "the window drops most keys of the second block: " + expectedError);
            assertEquals(expectedError, result.relativeError(), 1e-5 * expectedError);
        }
    }

    @Test
    void relativeErrorMatchesAFloat64Computation() {
        AttentionShape shape = new AttentionShape(2, 1, 8);
        int length = 200;
        SplittableRandom random = new SplittableRandom(4);
        try (Tensor q = TestTensors.random(random, 3, length, 16); Tensor k = TestTensors.random(random, 3, length, 8);
             Tensor v = TestTensors.random(random, 1, length, 8)) {
            HeadPattern local = new HeadPattern.AShape(0, 1);
            var results = HeadAccuracy.measure(shape, q, k, v, length, List.of(new HeadPattern.Dense(), local));
            SparseIndex dense = new SparseIndex(1, 1, length, 1, 0);
            SparseIndex sparse = new SparseIndex(1, 1, length, 1, 0);
            for (int b = 0; b < dense.queryBlocks(); b++) {
                dense.addRange(0, b, 0, dense.blockEnd(b));
                sparse.addRange(0, b, b * 64, sparse.blockEnd(b));
            }
            double diff = 0, norm = 0;
            for (int i = 0; i < length; i++) {
                double[] e = TestTensors.reference(shape, q, k, v, dense, 0, i);
                double[] a = TestTensors.reference(shape, q, k, v, sparse, 0, i);
                for (int x = 0; x < 8; x++) {
                    diff += (a[x] - e[x]) * (a[x] - e[x]);
                    norm += e[x] * e[x];
                }
            }
            assertEquals(Math.sqrt(diff / norm), results.get(1).relativeError(), 1e-5);
            assertEquals(0.0, results.get(0).relativeError(), 1e-6);
        }
    }

    @Test
    void densePatternIsExact() {
        AttentionShape shape = new AttentionShape(4, 2, 16);
        int length = 150;
        SplittableRandom random = new SplittableRandom(3);
        try (Tensor q = TestTensors.random(random, 3, length, 64); Tensor k = TestTensors.random(random, 3, length, 32);
             Tensor v = TestTensors.random(random, 1, length, 32)) {
            var results = HeadAccuracy.measure(shape, q, k, v, length, Collections.nCopies(4, new HeadPattern.Dense()));
            for (var r : results) {
                assertEquals(1.0, r.recall(), 1e-6);
                assertEquals(1.0, r.density(), 1e-12);
                assertEquals(0.0, r.relativeError(), 1e-6);
            }
            assertThrows(IllegalArgumentException.class,
                    () -> HeadAccuracy.measure(shape, q, k, v, length, List.of(new HeadPattern.Dense())));
        }
    }
}
