package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import java.util.List;

/**
 * Offline, kernel-aware pattern search (owner: the sparse-core helper): per head, among candidate patterns and
 * budgets of about equal kernel cost, the one whose index keeps the most attention mass on calibration data.
 */
public final class PatternSearch {
    private PatternSearch() {
    }

    /**
     * Chooses a pattern for every head of one layer from its calibration queries and keys (F32,
     * {@code [≥length, queryDim]} and {@code [≥length, kvDim]}, RoPE applied).
     */
    public static List<HeadPattern> searchLayer(AttentionShape shape, Tensor queries, Tensor keys, int length) {
        throw new UnsupportedOperationException("stub: sparse-core helper");
    }
}
