package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.DensePattern;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.ArrayList;
import java.util.List;

/**
 * How faithful a layer's sparse index is, head by head, against dense attention on the same Q, K and V: each head's
 * index is estimated by its pattern (as the sparse prefill does), then compared with the exact dense attention of the
 * head.
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
        return measure(shape, queries, keys, values, length, patterns, PatternRegistry.standard());
    }

    /**
     * As above, reporting ("recall", heads done, heads) to {@code progress} after each head: a long prompt's heads
     * take minutes.
     */
    public static List<Result> measure(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length,
                                       List<HeadPattern> patterns, ProgressListener progress) {
        return measure(shape, queries, keys, values, length, patterns, PatternRegistry.standard(), progress);
    }

    /** As above, with the patterns of {@code registry}. */
    public static List<Result> measure(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length,
                                       List<HeadPattern> patterns, PatternRegistry registry) {
        return measure(shape, queries, keys, values, length, patterns, registry, ProgressListener.NONE);
    }

    private static List<Result> measure(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length,
                                        List<HeadPattern> patterns, PatternRegistry registry,
                                        ProgressListener progress) {
        if (patterns.size() != shape.numHeads()) {
            throw new IllegalArgumentException(patterns.size() + " patterns for a layer of " + shape.numHeads()
                    + " heads");
        }
        LayerInputs inputs = new LayerInputs(shape, queries, keys, length);
        LayerInputs.requireRows(values, length, shape.kvDim(), "values");
        List<Result> results = new ArrayList<>();
        progress.progress("recall", 0, shape.numHeads());
        try (Tensor dense = denseOutput(shape, queries, keys, values, length);
             Tensor sparse = Tensor.allocate(DType.F32, length, shape.queryDim())) {
            progress.progress("recall", 0, shape.numHeads());
            for (int head = 0; head < shape.numHeads(); head++) {
                SparseIndex index = indexOf(registry.estimate(patterns.get(head), inputs, head), head, length);
                CpuSparseAttention.attend(shape, queries, keys, values, sparse, index);
                double recall = RecallMeter.recall(inputs, head, List.of(index))[0];
                results.add(new Result(head, patterns.get(head).name(), density(index), recall,
                        relativeError(shape, dense, sparse, head, length)));
                progress.progress("recall", head + 1, shape.numHeads());
            }
        }
        return results;
    }

    /** One head's selection as an index of that head alone. */
    static SparseIndex indexOf(HeadIndex selection, int head, int length) {
        IndexCapacity c = selection.capacity();
        SparseIndex index = new SparseIndex(head, 1, length, c.maxRanges(), c.maxColumns());
        selection.writeTo(index, 0);
        return index;
    }

    /** Attended keys over causal keys, for slot 0. */
    static double density(SparseIndex index) {
        return IndexCost.of(index, 0).density();
    }

    /** Dense causal attention of every head ({@code [length, queryDim]}, F32); the caller closes it. */
    static Tensor denseOutput(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, int length) {
        Tensor dense = Tensor.allocate(DType.F32, length, shape.queryDim());
        SparseIndex denseIndex = new SparseIndex(0, shape.numHeads(), length, 1, 0);
        for (int h = 0; h < shape.numHeads(); h++) DensePattern.index().writeTo(denseIndex, h);
        try {
            CpuSparseAttention.attend(shape, queries, keys, values, dense, denseIndex);
        } catch (RuntimeException e) {
            dense.close();
            throw e;
        }
        return dense;
    }

    /** Elements of {@code head}'s output rows where sparse and dense differ by more than {@code tolerance}. */
    static long outputErrors(AttentionShape shape, Tensor dense, Tensor sparse, int head, int length,
                             double tolerance) {
        long count = 0;
        for (int i = 0; i < length; i++) {
            long base = (long) i * shape.queryDim() + (long) head * shape.headDim();
            for (int x = 0; x < shape.headDim(); x++) {
                if (!(Math.abs(sparse.getFloat(base + x) - dense.getFloat(base + x)) <= tolerance)) count++;
            }
        }
        return count;
    }

    private static double relativeError(AttentionShape shape, Tensor dense, Tensor sparse, int head, int length) {
        double diff = 0, norm = 0;
        for (int i = 0; i < length; i++) {
            long base = (long) i * shape.queryDim() + (long) head * shape.headDim();
            for (int x = 0; x < shape.headDim(); x++) {
                double e = dense.getFloat(base + x), a = sparse.getFloat(base + x);
                diff += (a - e) * (a - e);
                norm += e * e;
            }
        }
        return norm == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(diff / norm);
    }
}
