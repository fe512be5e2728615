package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Rotary position embedding on interleaved pairs (2i, 2i+1) of every head, as llama2.c and llama.cpp's GGUF layout
 * have it: the pair turns by position · θ^(-2i/d), the frequency divided by the Llama-3.1 per-frequency factor where
 * the model has them. Angles are formed in double so that positions in the millions keep their precision.
 */
public final class Rope {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int headDim;
    private final double[] frequencies;

    /** @param freqFactors per-frequency divisors, [headDim/2], or null for plain RoPE */
    public Rope(int headDim, float theta, float[] freqFactors) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("RoPE needs an even head size, got " + headDim);
        if (freqFactors != null && freqFactors.length != headDim / 2) {
            throw new IllegalArgumentException("RoPE frequency factors: expected " + headDim / 2 + " (head size / 2), got "
                    + freqFactors.length);
        }
        this.headDim = headDim;
        this.frequencies = new double[headDim / 2];
        for (int i = 0; i < frequencies.length; i++) {
            double f = Math.pow(theta, -2.0 * i / headDim);
            frequencies[i] = freqFactors == null ? f : f / freqFactors[i];
        }
    }

    public int headDim() {
        return headDim;
    }

    /**
     * Rotates, in place, the first {@code rows} rows of {@code x}, each holding whole heads; row r is at position
     * {@code startPosition + r}.
     */
    public void apply(Tensor x, int rows, int startPosition) {
        int width = Rows.width(x, rows, "RoPE", "input");
        if (width % headDim != 0) {
            throw new IllegalArgumentException("RoPE: rows of " + width + " do not hold whole heads of " + headDim);
        }
        MemorySegment m = x.data();
        int pairs = headDim / 2;
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int r = 0; r < rows; r++) {
            long position = (long) startPosition + r;
            for (int i = 0; i < pairs; i++) {
                double angle = position * frequencies[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) Math.sin(angle);
            }
            long rowBase = 4L * r * width;
            for (int head = 0; head < width; head += headDim) {
                for (int i = 0; i < pairs; i++) {
                    long at = rowBase + 4L * (head + 2 * i);
                    float a = m.get(F32, at), b = m.get(F32, at + 4);
                    m.set(F32, at, a * cos[i] - b * sin[i]);
                    m.set(F32, at + 4, a * sin[i] + b * cos[i]);
                }
            }
        }
    }
}
