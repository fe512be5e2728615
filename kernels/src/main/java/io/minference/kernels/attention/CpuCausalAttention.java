package io.minference.kernels.attention;

import io.minference.kernels.cpu.Softmax;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dense causal attention on the CPU. Blocks of {@link #BLOCK_QUERIES} queries or more (prefill) go through
 * {@link BlockAttention}, as matrix products. Smaller ones (decode) work query by query: one work item is one query
 * position and one KV head, the group of query heads that share the KV head processed together, so each key and
 * value row is loaded once for the whole group. Scores are kept for the whole causal prefix and normalized by a
 * two-pass (max-subtracted) softmax in f32.
 */
public final class CpuCausalAttention implements CausalAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Queries from which a block is worth two matrix products per KV head. */
    static final int BLOCK_QUERIES = 8;

    private final CpuBackend backend;
    private final BlockAttention blocks;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    public CpuCausalAttention(CpuBackend backend) {
        this.backend = backend;
        this.blocks = new BlockAttention(backend);
    }

    @Override
    public void attend(int layer, AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                       int start, int count) {
        CausalAttention.checkArguments(shape, queries, keys, values, out, start, count);
        if (count >= BLOCK_QUERIES) {
            blocks.attend(shape, queries.data(), keys.data(), values.data(), out.data(), start, count);
            return;
        }
        int kvHeads = shape.numKvHeads();
        backend.parallelFor(count * kvHeads, item -> attendGroup(shape, queries.data(), keys.data(), values.data(),
                out.data(), start, item / kvHeads, item % kvHeads));
    }

    private void attendGroup(AttentionShape shape, MemorySegment q, MemorySegment k, MemorySegment v,
                             MemorySegment out, int start, int t, int kvHead) {
        int group = shape.groupSize();
        int d = shape.headDim();
        int queryDim = shape.queryDim();
        int kvDim = shape.kvDim();
        int length = start + t + 1;
        Scratch s = scratch.get().ensure(group, d, length);
        float scale = shape.scale();
        int firstHead = kvHead * group;
        for (int g = 0; g < group; g++) {
            long base = 4L * ((long) t * queryDim + (long) (firstHead + g) * d);
            for (int i = 0; i < d; i++) s.queries[g * d + i] = q.get(F32, base + 4L * i) * scale;
        }

        int vectorEnd = d / L * L;
        for (int j = 0; j < length; j++) {
            long keyBase = 4L * ((long) j * kvDim + (long) kvHead * d);
            for (int g = 0; g < group; g++) {
                int qBase = g * d;
                FloatVector acc = FloatVector.zero(S);
                int i = 0;
                for (; i < vectorEnd; i += L) {
                    acc = FloatVector.fromArray(S, s.queries, qBase + i)
                            .fma(FloatVector.fromMemorySegment(S, k, keyBase + 4L * i, ORDER), acc);
                }
                float dot = acc.reduceLanes(VectorOperators.ADD);
                for (; i < d; i++) dot += s.queries[qBase + i] * k.get(F32, keyBase + 4L * i);
                s.scores[g * length + j] = dot;
            }
        }
        for (int g = 0; g < group; g++) Softmax.inPlace(s.scores, g * length, length);

        Arrays.fill(s.sums, 0, group * d, 0f);
        for (int j = 0; j < length; j++) {
            long valueBase = 4L * ((long) j * kvDim + (long) kvHead * d);
            for (int g = 0; g < group; g++) {
                float p = s.scores[g * length + j];
                int sBase = g * d;
                int i = 0;
                for (; i < vectorEnd; i += L) {
                    FloatVector.fromMemorySegment(S, v, valueBase + 4L * i, ORDER)
                            .fma(FloatVector.broadcast(S, p), FloatVector.fromArray(S, s.sums, sBase + i))
                            .intoArray(s.sums, sBase + i);
                }
                for (; i < d; i++) s.sums[sBase + i] += p * v.get(F32, valueBase + 4L * i);
            }
        }
        for (int g = 0; g < group; g++) {
            long base = 4L * ((long) t * queryDim + (long) (firstHead + g) * d);
            MemorySegment.copy(s.sums, g * d, out, F32, base, d);
        }
    }

    /** Per-thread buffers, grown as the causal prefix grows. */
    private static final class Scratch {
        float[] queries = new float[0];
        float[] sums = new float[0];
        float[] scores = new float[0];

        Scratch ensure(int group, int headDim, int length) {
            if (queries.length < group * headDim) {
                queries = new float[group * headDim];
                sums = new float[group * headDim];
            }
            long needed = (long) group * length;
            if (scores.length < needed) scores = new float[Math.toIntExact(Math.max(needed, scores.length * 3L / 2))];
            return this;
        }
    }
}
