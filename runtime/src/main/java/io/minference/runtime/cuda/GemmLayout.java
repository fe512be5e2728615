package io.minference.runtime.cuda;

/**
 * How this project's row-major product {@code C[M,N] = A[M,K] x B[N,K]^T} (weights as rows) is expressed to a
 * column-major BLAS. A row-major matrix read column-major is its transpose, so the product is computed as
 * {@code C^T[N,M] = B[N,K] x A^T[K,M]}: cuBLAS's first operand is the weights B, stored column-major as K x N and
 * transposed ('T'); its second is the activations A, stored column-major as K x M and used as is ('N'); the result
 * is column-major N x M, which is C row-major. This is the "TN" layout that cuBLASLt serves best.
 *
 * @param m          rows of op(first) and of the result (= N)
 * @param n          columns of op(second) and of the result (= M)
 * @param k          the shared dimension (= K)
 * @param transposeFirst  whether the first operand is used transposed
 * @param transposeSecond whether the second operand is used transposed
 * @param firstRows  stored rows of the first operand;  {@code firstCols}, {@code firstLd} likewise
 * @param secondRows stored rows of the second operand; {@code secondCols}, {@code secondLd} likewise
 * @param ldResult   the result's leading dimension
 */
public record GemmLayout(long m, long n, long k, boolean transposeFirst, boolean transposeSecond,
                         long firstRows, long firstCols, long firstLd,
                         long secondRows, long secondCols, long secondLd, long ldResult) {

    /** The layout for row-major {@code C[M,N] = A[M,K] x B[N,K]^T}; first operand B, second operand A. */
    public static GemmLayout rowMajorTimesTransposed(long rowsM, long colsN, long depthK) {
        if (rowsM <= 0 || colsN <= 0 || depthK <= 0) {
            throw new IllegalArgumentException("GEMM dimensions must be positive: M=" + rowsM + " N=" + colsN
                    + " K=" + depthK);
        }
        return new GemmLayout(colsN, rowsM, depthK, true, false,
                depthK, colsN, depthK,
                depthK, rowsM, depthK,
                colsN);
    }
}
