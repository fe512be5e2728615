package io.minference.kernels.attention;

import io.minference.kernels.cpu.Softmax;
import io.minference.runtime.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Dense causal attention of a block of queries as two matrix products per KV head, so that prefill attention runs at
 * the matrix product's speed rather than one dot product at a time. For KV head h, with its group of query heads
 * stacked into R = group · count rows (row g · count + t is query t of head g):
 * <ol>
 *   <li>S[R, length] = (Q_h / √d) · K_hᵀ over the whole prefix [0, start + count);</li>
 *   <li>each row's softmax over its causal prefix, the entries past it set to zero;</li>
 *   <li>Oᵀ[d, R] = V_hᵀ · Sᵀ, written back into the heads' columns of the output.</li>
 * </ol>
 * The products cover the block's upper triangle too (count² / 2 wasted scores, little beside start · count once
 * the prompt is long). Scratch memory belongs to the calling thread and grows with the prefix; it is native, like
 * activations and weights, so that the matrix product's memory accesses see one kind of segment.
 */
final class BlockAttention {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final CpuBackend backend;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final ThreadLocal<float[]> rowBuffer = ThreadLocal.withInitial(() -> new float[0]);

    BlockAttention(CpuBackend backend) {
        this.backend = backend;
    }

    void attend(AttentionShape shape, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                int start, int count) {
        int group = shape.groupSize();
        int d = shape.headDim();
        int rows = group * count;
        int length = start + count;
        Scratch s = scratch.get().ensure(rows, d, length);
        MemorySegment queries = s.queries, scores = s.scores, valuesT = s.valuesT, headsT = s.headsT;
        for (int kvHead = 0; kvHead < shape.numKvHeads(); kvHead++) {
            gatherQueries(shape, q, queries, kvHead, count);
            backend.matmul(queries, d, k.asSlice(4L * kvHead * d), shape.kvDim(), scores, length, rows, length, d);
            backend.parallelFor(rows, r -> causalSoftmax(scores, r, length, start + r % count + 1));
            transposeValues(shape, v, valuesT, kvHead, length);
            backend.matmul(valuesT, length, scores, length, headsT, rows, d, rows, length);
            scatterHeads(shape, headsT, out, kvHead, count);
        }
    }

    /** Query t of head g of the group, scaled by 1/√d, into row g · count + t. */
    private static void gatherQueries(AttentionShape shape, MemorySegment q, MemorySegment queries, int kvHead,
                                      int count) {
        int d = shape.headDim();
        float scale = shape.scale();
        for (int g = 0; g < shape.groupSize(); g++) {
            int head = kvHead * shape.groupSize() + g;
            for (int t = 0; t < count; t++) {
                long from = 4L * ((long) t * shape.queryDim() + (long) head * d);
                long to = 4L * (g * count + t) * d;
                for (int i = 0; i < d; i++) queries.set(F32, to + 4L * i, q.get(F32, from + 4L * i) * scale);
            }
        }
    }

    private void causalSoftmax(MemorySegment scores, int row, int length, int visible) {
        long base = 4L * row * length;
        float[] values = rowBuffer.get();
        if (values.length < length) {
            values = new float[length];
            rowBuffer.set(values);
        }
        MemorySegment.copy(scores, F32, base, values, 0, visible);
        Softmax.inPlace(values, 0, visible);
        MemorySegment.copy(values, 0, scores, F32, base, visible);
        scores.asSlice(base + 4L * visible, 4L * (length - visible)).fill((byte) 0);
    }

    private static void transposeValues(AttentionShape shape, MemorySegment v, MemorySegment valuesT, int kvHead,
                                        int length) {
        int d = shape.headDim();
        for (int j = 0; j < length; j++) {
            long row = 4L * ((long) j * shape.kvDim() + (long) kvHead * d);
            for (int i = 0; i < d; i++) valuesT.set(F32, 4L * ((long) i * length + j), v.get(F32, row + 4L * i));
        }
    }

    private static void scatterHeads(AttentionShape shape, MemorySegment headsT, MemorySegment out, int kvHead,
                                     int count) {
        int d = shape.headDim();
        int rows = shape.groupSize() * count;
        for (int g = 0; g < shape.groupSize(); g++) {
            int head = kvHead * shape.groupSize() + g;
            for (int t = 0; t < count; t++) {
                long to = 4L * ((long) t * shape.queryDim() + (long) head * d);
                int r = g * count + t;
                for (int i = 0; i < d; i++) out.set(F32, to + 4L * i, headsT.get(F32, 4L * ((long) i * rows + r)));
            }
        }
    }

    private static final class Scratch {
        MemorySegment queries = MemorySegment.NULL;
        MemorySegment scores = MemorySegment.NULL;
        MemorySegment valuesT = MemorySegment.NULL;
        MemorySegment headsT = MemorySegment.NULL;

        Scratch ensure(int rows, int d, int length) {
            queries = atLeast(queries, (long) rows * d);
            headsT = atLeast(headsT, (long) rows * d);
            scores = atLeast(scores, (long) rows * length);
            valuesT = atLeast(valuesT, (long) d * length);
            return this;
        }

        /** Freed by the garbage collector once the thread and its scratch are gone. */
        private static MemorySegment atLeast(MemorySegment m, long floats) {
            if (m.byteSize() >= 4 * floats) return m;
            long grown = Math.max(4 * floats, m.byteSize() * 3 / 2);
            return Arena.ofAuto().allocate(grown, 64);
        }
    }
}
