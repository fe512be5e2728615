package io.minference.sparse.cpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import io.minference.sparse.SparseIndex;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The keys of one KV head, transposed into panels of {@link SparseIndex#BLOCK} keys: panel c holds keys
 * {@code [64c, 64c + 64)} as {@code [d][64]} (key lanes fastest), zero past the prompt's end. A 64-aligned key range
 * is then a run of whole panels that {@link ScoreTile} reads with plain vector loads, with no gather.
 */
public final class KeyPanels {
    public static final int WIDTH = SparseIndex.BLOCK;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final float[] data;
    private final int headDim;
    private final int length;

    private KeyPanels(float[] data, int headDim, int length) {
        this.data = data;
        this.headDim = headDim;
        this.length = length;
    }

    /** Packs rows {@code [0, length)} of KV head {@code kvHead} of {@code keys} (F32 {@code [≥length, kvDim]}). */
    public static KeyPanels pack(AttentionShape shape, Tensor keys, int length, int kvHead) {
        int d = shape.headDim();
        int panels = SparseIndex.queryBlocks(length);
        long floats = (long) panels * WIDTH * d;
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("keys of " + length + " tokens x head size " + d
                    + " do not fit one Java array of panels");
        }
        float[] data = new float[(int) floats];
        MemorySegment k = keys.data();
        for (int j = 0; j < length; j++) {
            long row = 4L * ((long) j * shape.kvDim() + (long) kvHead * d);
            int base = (j / WIDTH) * WIDTH * d + j % WIDTH;
            for (int x = 0; x < d; x++) data[base + x * WIDTH] = k.get(F32, row + 4L * x);
        }
        return new KeyPanels(data, d, length);
    }

    public float[] data() {
        return data;
    }

    /** Offset in {@link #data()} of the panel holding keys {@code [64c, 64c + 64)}. */
    public int offset(int panel) {
        return panel * WIDTH * headDim;
    }

    public int headDim() {
        return headDim;
    }

    public int length() {
        return length;
    }

    /**
     * Copies keys {@code [start, start + count)} ({@code count} at most 64, the range inside the packed rows) into
     * {@code tile}, laid out as one panel, zero in unused lanes: the tile of a range that does not start on a panel.
     */
    public void copyRange(int start, int count, float[] tile) {
        Arrays.fill(tile, 0, WIDTH * headDim, 0f);
        int lane0 = start % WIDTH;
        int first = Math.min(count, WIDTH - lane0);
        int from = (start / WIDTH) * WIDTH * headDim + lane0;
        int next = (start / WIDTH + 1) * WIDTH * headDim;
        for (int x = 0; x < headDim; x++) {
            System.arraycopy(data, from + x * WIDTH, tile, x * WIDTH, first);
            if (count > first) System.arraycopy(data, next + x * WIDTH, tile, x * WIDTH + first, count - first);
        }
    }

    /** Copies the given keys (at most 64) into {@code tile}, laid out as one panel, zero in unused lanes. */
    public void gather(int[] keys, int from, int count, float[] tile) {
        Arrays.fill(tile, 0, WIDTH * headDim, 0f);
        for (int lane = 0; lane < count; lane++) {
            int j = keys[from + lane];
            int src = (j / WIDTH) * WIDTH * headDim + j % WIDTH;
            for (int x = 0; x < headDim; x++) tile[x * WIDTH + lane] = data[src + x * WIDTH];
        }
    }
}
