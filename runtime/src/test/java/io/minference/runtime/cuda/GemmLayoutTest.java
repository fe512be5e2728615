package io.minference.runtime.cuda;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Checks the column-major translation of C[M,N] = A[M,K] x B[N,K]^T by running, on the CPU, a GEMM with cuBLAS's
 * column-major semantics over the row-major buffers exactly as {@link CublasLtGemm} hands them to cuBLASLt.
 */
class GemmLayoutTest {

    @Test
    void theColumnMajorProductOverRowMajorBuffersIsTheRowMajorProduct() {
        Random random = new Random(GpuTests.freshSeed());
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {8, 2, 9}, {17, 33, 4}};
        for (int[] shape : shapes) {
            int m = shape[0], n = shape[1], k = shape[2];
            double[] a = randomIntegers(random, m * k); // activations, row-major [M,K]
            double[] b = randomIntegers(random, n * k); // weights, row-major [N,K]
            double[] expected = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++) sum += a[i * k + l] * b[j * k + l];
                    expected[i * n + j] = sum;
                }
            GemmLayout layout = GemmLayout.rowMajorTimesTransposed(m, n, k);
            double[] c = new double[m * n];
            columnMajorGemm(layout, b, a, c);
            assertArrayEquals(expected, c, 0.0, "M=" + m + " N=" + n + " K=" + k);
        }
    }

    @Test
    void nonPositiveDimensionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> GemmLayout.rowMajorTimesTransposed(0, 4, 4));
    }

    /** D = op(first) x op(second), all column-major, as cublasLtMatmul defines it. */
    private static void columnMajorGemm(GemmLayout g, double[] first, double[] second, double[] result) {
        for (long i = 0; i < g.m(); i++)
            for (long j = 0; j < g.n(); j++) {
                double sum = 0;
                for (long l = 0; l < g.k(); l++) {
                    // op(X)(r, c) reads stored X(c, r) when transposed, X(r, c) otherwise; X(r, c) = X[r + c * ld]
                    double x = g.transposeFirst() ? first[(int) (l + i * g.firstLd())]
                            : first[(int) (i + l * g.firstLd())];
                    double y = g.transposeSecond() ? second[(int) (j + l * g.secondLd())]
                            : second[(int) (l + j * g.secondLd())];
                    sum += x * y;
                }
                result[(int) (i + j * g.ldResult())] = sum;
            }
        // the stored operands must have the dimensions op() implies
        if ((g.transposeFirst() ? g.firstCols() : g.firstRows()) != g.m()
                || (g.transposeSecond() ? g.secondRows() : g.secondCols()) != g.n()) {
            throw new AssertionError("operand layouts disagree with m/n: " + g);
        }
    }

    private static double[] randomIntegers(Random random, int count) {
        double[] values = new double[count];
        for (int i = 0; i < count; i++) values[i] = random.nextInt(-9, 10);
        return values;
    }
}
