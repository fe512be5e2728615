package io.minference.runtime.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The token rows of a matrix product, transposed into panels of {@link #WIDTH} tokens: panel p holds, for every k,
 * the values x[p·WIDTH + j, k] for j &lt; WIDTH side by side (zeros past the last token). The product's inner loop
 * then reads two whole vectors of tokens per k from one contiguous stream, and the weights need no packing.
 */
final class PackedTokens {
    /** Tokens per panel: two vectors, the width of the 6×2-vector register tile. */
    static final int WIDTH = 2 * MatmulTiles.LANES;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<float[]> BUFFERS = ThreadLocal.withInitial(() -> new float[0]);

    private PackedTokens() {
    }

    static int panels(int tokens) {
        return (tokens + WIDTH - 1) / WIDTH;
    }

    /**
     * A buffer of the calling thread large enough for {@code tokens} × k, reused across calls so that a forward pass
     * allocates nothing per product.
     */
    static float[] buffer(int tokens, int k) {
        long needed = (long) panels(tokens) * WIDTH * k;
        if (needed > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a block of " + tokens + " tokens × " + k + " is too large to pack");
        }
        float[] b = BUFFERS.get();
        if (b.length < needed) {
            b = new float[(int) needed];
            BUFFERS.set(b);
        }
        return b;
    }

    /** Packs panel {@code p} of x ([tokens, k], rows {@code xStride} floats apart) into {@code packed}. */
    static void pack(MemorySegment x, long xStride, int tokens, int k, int p, float[] packed) {
        int t0 = p * WIDTH;
        int width = Math.min(WIDTH, tokens - t0);
        int base = p * WIDTH * k;
        for (int j = 0; j < width; j++) {
            long row = 4L * (t0 + j) * xStride;
            for (int kk = 0; kk < k; kk++) packed[base + kk * WIDTH + j] = x.get(F32, row + 4L * kk);
        }
        for (int j = width; j < WIDTH; j++) {
            for (int kk = 0; kk < k; kk++) packed[base + kk * WIDTH + j] = 0f;
        }
    }
}
