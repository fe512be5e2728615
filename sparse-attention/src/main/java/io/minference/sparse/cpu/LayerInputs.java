package io.minference.sparse.cpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One layer's prompt as the patterns' CPU estimation reads it: F32 {@code queries [≥length, queryDim]} and
 * {@code keys [≥length, kvDim]} (RoPE applied), query head h reading KV head h / group. Keys are packed into
 * {@link KeyPanels} once per KV head, on first use (from any thread), and shared by the heads of its group.
 */
public final class LayerInputs {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final AttentionShape shape;
    private final Tensor queries;
    private final Tensor keys;
    private final int length;
    private final KeyPanels[] panels;

    public LayerInputs(AttentionShape shape, Tensor queries, Tensor keys, int length) {
        if (length < 1) throw new IllegalArgumentException("a prompt needs at least one token, got " + length);
        requireRows(queries, length, shape.queryDim(), "queries");
        requireRows(keys, length, shape.kvDim(), "keys");
        this.shape = shape;
        this.queries = queries;
        this.keys = keys;
        this.length = length;
        this.panels = new KeyPanels[shape.numKvHeads()];
    }

    public AttentionShape shape() {
        return shape;
    }

    public Tensor queries() {
        return queries;
    }

    public Tensor keys() {
        return keys;
    }

    public int length() {
        return length;
    }

    public int kvHead(int head) {
        return head / shape.groupSize();
    }

    /** The packed keys that query head {@code head} reads. */
    public KeyPanels panels(int head) {
        int kv = kvHead(head);
        synchronized (panels) {
            if (panels[kv] == null) panels[kv] = KeyPanels.pack(shape, keys, length, kv);
            return panels[kv];
        }
    }

    /** Copies query rows {@code [from, from + rows)} of {@code head}, times {@code scale}, into {@code out[r · d]}. */
    public void gatherQueries(int head, int from, int rows, float scale, float[] out) {
        int d = shape.headDim();
        MemorySegment q = queries.data();
        for (int r = 0; r < rows; r++) {
            long base = 4L * ((long) (from + r) * shape.queryDim() + (long) head * d);
            for (int x = 0; x < d; x++) out[r * d + x] = q.get(F32, base + 4L * x) * scale;
        }
    }

    /** Element x of key row j of KV head kv. */
    public float key(int kv, int j, int x) {
        return keys.data().get(F32, 4L * ((long) j * shape.kvDim() + (long) kv * shape.headDim() + x));
    }

    /** Element x of query row i of head h. */
    public float query(int head, int i, int x) {
        return queries.data().get(F32, 4L * ((long) i * shape.queryDim() + (long) head * shape.headDim() + x));
    }

    public static void requireRows(Tensor t, long rows, int width, String what) {
        if (t.dtype() != DType.F32 || t.rank() != 2 || t.dim(0) < rows || t.dim(1) != width) {
            throw new IllegalArgumentException("sparse attention " + what + " must be F32 [>=" + rows + ", " + width
                    + "], got " + t);
        }
    }
}
