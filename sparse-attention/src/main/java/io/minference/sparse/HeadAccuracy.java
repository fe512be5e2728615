package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import java.util.List;

/**
 * How faithful a layer's sparse index is, head by head, against dense attention on the same Q, K and V (owner: the
 * sparse-core helper).
 */
public final class HeadAccuracy {
    /**
     * @param density       attended keys over the causal keys
     * @param recall        mean over query rows of the dense attention mass on the attended keys
     * @param relativeError ‖sparse out − dense out‖ / ‖dense out‖ over the head's rows
     */
    public record Result(int head, String pattern, double density, double recall, double relativeError) {
    }

    private HeadAccuracy() {
    }

    /** Measures every head of one layer (F32 tensors, {@code [≥length, ...]}, RoPE applied). */
    public static List<Result> measure(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length,
                                       List<HeadPattern> patterns) {
        throw new UnsupportedOperationException("stub: sparse-core helper");
    }
}
