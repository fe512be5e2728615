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
 * {@link BlockAttention}, as matrix products. Smaller ones (decode) make two passes over the KV rows, each split
 * into items of {@link #CHUNK} consecutive positions: the first writes every query head's scores, the second (after
 * a two-pass, max-subtracted softmax in f32 per head) each chunk's probability-weighted sum of its value rows, and
 * the chunks' sums are added in chunk order.
 *
 * <p>Why chunks of positions rather than one item per KV head: a KV row holds every head, so an item per head read
 * 256 bytes of every 2 KiB row (LLaMA-3-1B's shape), a strided walk whose cache misses the prefetchers do not
 * cover; at 2,048 positions decode attention took 38 ms a token over 134 MB of cache, 3.5 GB/s
 * (BENCHMARKS.md, issue 14). An item of whole consecutive rows is one sequential stream.
 */
public final class CpuCausalAttention implements CausalAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Queries from which a block is worth two matrix products per KV head. */
    static final int BLOCK_QUERIES = 8;
    /** KV positions per work item of the decode passes. */
    static final int CHUNK = 128;

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
        int heads = shape.numHeads();
        int queryDim = shape.queryDim();
        int longest = start + count;
        int chunks = (longest + CHUNK - 1) / CHUNK;
        Scratch s = scratch.get().ensure(count * queryDim, (long) count * heads * longest, chunks);
        float scale = shape.scale();
        MemorySegment q = queries.data();
        for (int i = 0; i < count * queryDim; i++) s.queries[i] = q.get(F32, 4L * i) * scale;
        backend.parallelFor(chunks, c -> scoreChunk(shape, s, keys.data(), start, count, c));
        backend.parallelFor(count * heads, row -> Softmax.inPlace(s.scores, row * longest, start + row / heads + 1));
        backend.parallelFor(chunks, c -> valueChunk(shape, s, values.data(), start, count, c));
        float[] sums = s.partial[0];
        for (int c = 1; c < chunks; c++) {
            float[] part = s.partial[c];
            for (int i = 0; i < count * queryDim; i++) sums[i] += part[i];
        }
        MemorySegment.copy(sums, 0, out.data(), F32, 0, count * queryDim);
    }

    /** Scores of every query and head against key rows [c·CHUNK, (c + 1)·CHUNK) that they may see. */
    private static void scoreChunk(AttentionShape shape, Scratch s, MemorySegment k, int start, int count, int c) {
        int heads = shape.numHeads(), group = shape.groupSize(), d = shape.headDim();
        int queryDim = shape.queryDim(), kvDim = shape.kvDim();
        int longest = start + count;
        int vectorEnd = d / L * L;
        for (int j = c * CHUNK, end = Math.min(longest, j + CHUNK); j < end; j++) {
            for (int kvHead = 0; kvHead < shape.numKvHeads(); kvHead++) {
                long keyBase = 4L * ((long) j * kvDim + (long) kvHead * d);
                for (int t = Math.max(0, j - start); t < count; t++) {
                    for (int head = kvHead * group; head < (kvHead + 1) * group; head++) {
                        int qBase = t * queryDim + head * d;
                        FloatVector acc = FloatVector.zero(S);
                        int i = 0;
                        for (; i < vectorEnd; i += L) {
                            acc = FloatVector.fromArray(S, s.queries, qBase + i)
                                    .fma(FloatVector.fromMemorySegment(S, k, keyBase + 4L * i, ORDER), acc);
                        }
                        float dot = acc.reduceLanes(VectorOperators.ADD);
                        for (; i < d; i++) dot += s.queries[qBase + i] * k.get(F32, keyBase + 4L * i);
                        s.scores[(t * heads + head) * longest + j] = dot;
                    }
                }
            }
        }
    }

    /**
     * Chunk c's share of the output: Σ over its value rows j of each query's and head's probability times row j. Each
     * head's output is summed over the chunk's rows in registers, two L-wide pieces of the row at a time with two
     * chains each (even and odd rows), so that a row's piece is one load and one fused multiply-add; the chunk's
     * value rows of a KV head (CHUNK × d floats) stay in L1 while the group's heads walk them again.
     */
    private static void valueChunk(AttentionShape shape, Scratch s, MemorySegment v, int start, int count, int c) {
        int heads = shape.numHeads(), group = shape.groupSize(), d = shape.headDim();
        int queryDim = shape.queryDim(), kvDim = shape.kvDim();
        int longest = start + count;
        int vectorEnd = d / L * L;
        long rowBytes = 4L * kvDim;
        float[] sums = s.partial[c];
        float[] scores = s.scores;
        int first = c * CHUNK;
        for (int t = 0; t < count; t++) {
            // query t sees positions up to start + t
            int end = Math.min(Math.min(longest, first + CHUNK), start + t + 1);
            for (int head = 0; head < heads; head++) {
                int p = (t * heads + head) * longest;
                int out = t * queryDim + head * d;
                long column = 4L * (head / group) * d;
                int i = 0;
                for (; i + 2 * L <= vectorEnd; i += 2 * L) {
                    FloatVector a0 = FloatVector.zero(S), b0 = FloatVector.zero(S);
                    FloatVector a1 = FloatVector.zero(S), b1 = FloatVector.zero(S);
                    long at = first * rowBytes + column + 4L * i;
                    int j = first;
                    for (; j + 2 <= end; j += 2, at += 2 * rowBytes) {
                        FloatVector p0 = FloatVector.broadcast(S, scores[p + j]);
                        FloatVector p1 = FloatVector.broadcast(S, scores[p + j + 1]);
                        a0 = FloatVector.fromMemorySegment(S, v, at, ORDER).fma(p0, a0);
                        b0 = FloatVector.fromMemorySegment(S, v, at + 4L * L, ORDER).fma(p0, b0);
                        a1 = FloatVector.fromMemorySegment(S, v, at + rowBytes, ORDER).fma(p1, a1);
                        b1 = FloatVector.fromMemorySegment(S, v, at + rowBytes + 4L * L, ORDER).fma(p1, b1);
                    }
                    if (j < end) {
                        FloatVector p0 = FloatVector.broadcast(S, scores[p + j]);
                        a0 = FloatVector.fromMemorySegment(S, v, at, ORDER).fma(p0, a0);
                        b0 = FloatVector.fromMemorySegment(S, v, at + 4L * L, ORDER).fma(p0, b0);
                    }
                    a0.add(a1).intoArray(sums, out + i);
                    b0.add(b1).intoArray(sums, out + i + L);
                }
                for (; i < vectorEnd; i += L) {
                    FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                    long at = first * rowBytes + column + 4L * i;
                    int j = first;
                    for (; j + 2 <= end; j += 2, at += 2 * rowBytes) {
                        a0 = FloatVector.fromMemorySegment(S, v, at, ORDER).fma(FloatVector.broadcast(S, scores[p + j]),
                                a0);
                        a1 = FloatVector.fromMemorySegment(S, v, at + rowBytes, ORDER)
                                .fma(FloatVector.broadcast(S, scores[p + j + 1]), a1);
                    }
                    if (j < end) {
                        a0 = FloatVector.fromMemorySegment(S, v, at, ORDER).fma(FloatVector.broadcast(S, scores[p + j]),
                                a0);
                    }
                    a0.add(a1).intoArray(sums, out + i);
                }
                for (; i < d; i++) {
                    float sum = 0;
                    for (int j = first; j < end; j++) sum += scores[p + j] * v.get(F32, j * rowBytes + column + 4L * i);
                    sums[out + i] = sum;
                }
            }
        }
    }

    /**
     * The calling thread's buffers for a decode block, grown as the causal prefix grows: the scaled queries, the
     * scores [query][head][position], and one partial output per chunk.
     */
    private static final class Scratch {
        float[] queries = new float[0];
        float[] scores = new float[0];
        float[][] partial = new float[0][];

        Scratch ensure(int outputs, long scoreCount, int chunks) {
            if (queries.length < outputs) queries = new float[outputs];
            if (scores.length < scoreCount) {
                scores = new float[Math.toIntExact(Math.max(scoreCount, scores.length * 3L / 2))];
            }
            if (partial.length < chunks || partial[0].length < outputs) {
                int size = Math.max(outputs, partial.length == 0 ? 0 : partial[0].length);
                float[][] grown = new float[Math.max(chunks, partial.length * 3 / 2)][];
                for (int c = 0; c < grown.length; c++) grown[c] = new float[size];
                partial = grown;
            }
            return this;
        }
    }
}
