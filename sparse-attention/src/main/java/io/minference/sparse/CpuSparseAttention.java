package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * Attention over the keys a {@link SparseIndex} keeps: the reference every sparse kernel is tested against, and the
 * CPU backend's sparse path. Query row i of head h attends the keys of its query block's ranges and columns that
 * are at most i, with an exact softmax over them (scores in float, sums in double).
 *
 * <p>Tensors are F32: {@code queries} and {@code out} {@code [≥length, queryDim]}, {@code keys} and {@code values}
 * {@code [≥length, kvDim]}; only the heads of the index are written.
 */
public final class CpuSparseAttention {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CpuSparseAttention() {
    }

    public static void attend(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                              SparseIndex index) {
        int length = index.length();
        if (index.firstHead() + index.heads() > shape.numHeads()) {
            throw new IllegalArgumentException("index heads " + index.firstHead() + ".."
                    + (index.firstHead() + index.heads() - 1) + " exceed the layer's " + shape.numHeads() + " heads");
        }
        requireRows(queries, length, shape.queryDim(), "queries");
        requireRows(out, length, shape.queryDim(), "output");
        requireRows(keys, length, shape.kvDim(), "keys");
        requireRows(values, length, shape.kvDim(), "values");
        int slots = index.heads() * index.queryBlocks();
        IntStream.range(0, slots).parallel().forEach(slot -> {
            int h = slot / index.queryBlocks();
            int b = slot % index.queryBlocks();
            attendBlock(shape, queries.data(), keys.data(), values.data(), out.data(), index, h, b);
        });
    }

    private static void attendBlock(AttentionShape shape, MemorySegment q, MemorySegment k, MemorySegment v,
                                    MemorySegment out, SparseIndex index, int h, int b) {
        int head = index.firstHead() + h;
        int d = shape.headDim();
        int kvHead = head / shape.groupSize();
        float scale = shape.scale();
        int[] keyList = keysOf(index, h, b);
        float[] scores = new float[keyList.length];
        double[] acc = new double[d];
        float[] query = new float[d];
        for (int i = b * SparseIndex.BLOCK; i < index.blockEnd(b); i++) {
            long qBase = 4L * ((long) i * shape.queryDim() + (long) head * d);
            for (int x = 0; x < d; x++) query[x] = q.get(F32, qBase + 4L * x) * scale;
            int visible = 0;
            float max = Float.NEGATIVE_INFINITY;
            for (int key : keyList) {
                if (key > i) continue;
                long kBase = 4L * ((long) key * shape.kvDim() + (long) kvHead * d);
                float s = 0;
                for (int x = 0; x < d; x++) s += query[x] * k.get(F32, kBase + 4L * x);
                scores[visible++] = s;
                max = Math.max(max, s);
            }
            java.util.Arrays.fill(acc, 0);
            double sum = 0;
            int n = 0;
            for (int key : keyList) {
                if (key > i) continue;
                double p = Math.exp(scores[n++] - max);
                sum += p;
                long vBase = 4L * ((long) key * shape.kvDim() + (long) kvHead * d);
                for (int x = 0; x < d; x++) acc[x] += p * v.get(F32, vBase + 4L * x);
            }
            long oBase = 4L * ((long) i * shape.queryDim() + (long) head * d);
            for (int x = 0; x < d; x++) out.set(F32, oBase + 4L * x, visible == 0 ? 0f : (float) (acc[x] / sum));
        }
    }

    /** The keys of slot (h, b): every range's keys, then the columns. */
    static int[] keysOf(SparseIndex index, int h, int b) {
        int n = index.columnCount(h, b);
        for (int r = 0; r < index.rangeCount(h, b); r++) n += index.rangeEnd(h, b, r) - index.rangeStart(h, b, r);
        int[] keys = new int[n];
        int at = 0;
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            for (int key = index.rangeStart(h, b, r); key < index.rangeEnd(h, b, r); key++) keys[at++] = key;
        }
        for (int c = 0; c < index.columnCount(h, b); c++) keys[at++] = index.column(h, b, c);
        return keys;
    }

    private static void requireRows(Tensor t, long rows, int width, String what) {
        if (t.dtype() != io.minference.runtime.DType.F32 || t.rank() != 2 || t.dim(0) < rows || t.dim(1) != width) {
            throw new IllegalArgumentException("sparse attention " + what + " must be F32 [>=" + rows + ", " + width
                    + "], got " + t);
        }
    }
}
