package io.minference.sparse;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.cpu.KeyPanels;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.cpu.ScoreTile;
import io.minference.sparse.cpu.ValueTile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention over the keys a {@link SparseIndex} keeps: the reference every sparse kernel is tested against, and the
 * CPU backend's sparse path. Query row i of head h attends the keys of its query block's ranges and columns that
 * are at most i, with an exact softmax over them.
 *
 * <p>It works as a flash-attention kernel on the CPU: one work item is one (head, 64-query block) slot, heaviest
 * (last) blocks first; the slot walks its keys in tiles of 64 (each range from its start: a 64-aligned tile is a
 * panel of {@link KeyPanels}, another is copied from two panels; the columns are gathered 64 at a time), with scores
 * and probability-times-value products in
 * register tiles ({@link ScoreTile}, {@link ValueTile}) and an online softmax in float (running maximum, rescaled
 * sums). Keys inside a tile ascend, so the causal mask of a row is a prefix of the tile's lanes.
 *
 * <p>Tensors are F32: {@code queries} and {@code out} {@code [≥length, queryDim]}, {@code keys} and {@code values}
 * {@code [≥length, kvDim]}; only the heads of the index are written.
 */
public final class CpuSparseAttention {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int W = SparseIndex.BLOCK;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private CpuSparseAttention() {
    }

    /** Runs on the common fork-join pool. */
    public static void attend(AttentionShape shape, Tensor queries, Tensor keys, Tensor values, Tensor out,
                              SparseIndex index) {
        LayerInputs inputs = new LayerInputs(shape, queries, keys, index.length());
        attend(inputs, values, out, index, (count, body) -> IntStream.range(0, count).parallel().forEach(body));
    }

    /** Runs on {@code backend}'s threads, with keys already packed (or packed on first use) by {@code inputs}. */
    public static void attend(LayerInputs inputs, Tensor values, Tensor out, SparseIndex index, CpuBackend backend) {
        attend(inputs, values, out, index, backend::parallelFor);
    }

    private interface Parallel {
        void forEach(int count, IntConsumer body);
    }

    private static void attend(LayerInputs inputs, Tensor values, Tensor out, SparseIndex index, Parallel parallel) {
        AttentionShape shape = inputs.shape();
        int length = index.length();
        if (inputs.length() != length) {
            throw new IllegalArgumentException("index of " + length + " tokens for inputs of " + inputs.length());
        }
        if (index.firstHead() + index.heads() > shape.numHeads()) {
            throw new IllegalArgumentException("index heads " + index.firstHead() + ".."
                    + (index.firstHead() + index.heads() - 1) + " exceed the layer's " + shape.numHeads() + " heads");
        }
        LayerInputs.requireRows(out, length, shape.queryDim(), "output");
        LayerInputs.requireRows(values, length, shape.kvDim(), "values");
        int heads = index.heads();
        int blocks = index.queryBlocks();
        for (int h = 0; h < heads; h++) inputs.panels(index.firstHead() + h);
        parallel.forEach(heads * blocks, slot -> {
            int b = blocks - 1 - slot / heads;
            attendBlock(inputs, values.data(), out.data(), index, slot % heads, b);
        });
    }

    private static void attendBlock(LayerInputs inputs, MemorySegment v, MemorySegment out, SparseIndex index,
                                    int h, int b) {
        AttentionShape shape = inputs.shape();
        int head = index.firstHead() + h;
        int d = shape.headDim();
        int m0 = b * W;
        int rows = index.blockEnd(b) - m0;
        Scratch s = SCRATCH.get().ensure(d);
        inputs.gatherQueries(head, m0, rows, shape.scale(), s.queries);
        Arrays.fill(s.max, Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum, 0f);
        Arrays.fill(s.acc, 0, rows * d, 0f);
        KeyPanels panels = inputs.panels(head);
        long valueBase = 4L * (long) inputs.kvHead(head) * d;
        for (int r = 0; r < index.rangeCount(h, b); r++) {
            int end = index.rangeEnd(h, b, r);
            for (int key0 = index.rangeStart(h, b, r); key0 < end; key0 += W) {
                int count = Math.min(W, end - key0);
                if (key0 % W == 0) {
                    ScoreTile.multiply(s.queries, rows, d, panels.data(), panels.offset(key0 / W), s.scores);
                } else {
                    panels.copyRange(key0, count, s.tile);
                    ScoreTile.multiply(s.queries, rows, d, s.tile, 0, s.scores);
                }
                for (int lane = 0; lane < count; lane++) copyValue(shape, v, valueBase, key0 + lane, s.values, lane);
                for (int row = 0; row < rows; row++) s.visible[row] = Math.clamp(m0 + row - key0 + 1, 0, count);
                update(s, rows, count, d);
            }
        }
        int columns = index.columnCount(h, b);
        for (int c0 = 0; c0 < columns; c0 += W) {
            int count = Math.min(W, columns - c0);
            for (int lane = 0; lane < count; lane++) s.keys[lane] = index.column(h, b, c0 + lane);
            panels.gather(s.keys, 0, count, s.tile);
            ScoreTile.multiply(s.queries, rows, d, s.tile, 0, s.scores);
            for (int lane = 0; lane < count; lane++) copyValue(shape, v, valueBase, s.keys[lane], s.values, lane);
            int visible = 0;
            for (int row = 0; row < rows; row++) {
                while (visible < count && s.keys[visible] <= m0 + row) visible++;
                s.visible[row] = visible;
            }
            update(s, rows, count, d);
        }
        for (int row = 0; row < rows; row++) {
            float inverse = s.sum[row] > 0 ? 1f / s.sum[row] : 0f;
            long base = 4L * ((long) (m0 + row) * shape.queryDim() + (long) head * d);
            for (int x = 0; x < d; x++) out.set(F32, base + 4L * x, s.acc[row * d + x] * inverse);
        }
    }

    private static void copyValue(AttentionShape shape, MemorySegment v, long valueBase, int key, float[] to,
                                  int lane) {
        int d = shape.headDim();
        MemorySegment.copy(v, F32, valueBase + 4L * key * shape.kvDim(), to, lane * d, d);
    }

    /** Online softmax over one tile: rescales each row's running sums, turns scores into weights, adds P·V. */
    private static void update(Scratch s, int rows, int count, int d) {
        for (int row = 0; row < rows; row++) {
            int base = row * W;
            int visible = s.visible[row];
            if (visible == 0) {
                Arrays.fill(s.scores, base, base + W, 0f);
                continue;
            }
            Arrays.fill(s.scores, base + visible, base + W, Float.NEGATIVE_INFINITY);
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int lane = 0; lane < W; lane += S.length()) m = m.max(FloatVector.fromArray(S, s.scores, base + lane));
            float tileMax = m.reduceLanes(VectorOperators.MAX);
            float newMax = Math.max(s.max[row], tileMax);
            float correction = (float) Math.exp(s.max[row] - newMax);
            FloatVector sums = FloatVector.zero(S);
            for (int lane = 0; lane < W; lane += S.length()) {
                FloatVector e = FloatVector.fromArray(S, s.scores, base + lane).sub(newMax)
                        .lanewise(VectorOperators.EXP);
                e.intoArray(s.scores, base + lane);
                sums = sums.add(e);
            }
            s.sum[row] = s.sum[row] * correction + sums.reduceLanes(VectorOperators.ADD);
            s.max[row] = newMax;
            if (correction != 1f) {
                for (int x = row * d; x < row * d + d; x++) s.acc[x] *= correction;
            }
        }
        ValueTile.accumulate(s.scores, rows, s.values, count, d, s.acc);
    }

    /** Per-thread buffers of one slot. */
    private static final class Scratch {
        int headDim = -1;
        float[] queries, scores = new float[W * W], values, acc, tile;
        final float[] max = new float[W];
        final float[] sum = new float[W];
        final int[] visible = new int[W];
        final int[] keys = new int[W];

        Scratch ensure(int d) {
            if (headDim != d) {
                headDim = d;
                queries = new float[W * d];
                values = new float[W * d];
                acc = new float[W * d];
                tile = new float[W * d];
            }
            return this;
        }
    }
}
