package io.minference.sparse.synthetic;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Attention whose locality comes from real rotary embeddings (LLaMA-3's base 500000) rather than from planted
 * terms: the third input family of the sparse benchmarks, next to the structured best case and random. With
 * {@code ℓ = ln L}, pairs {@code f = 0 .. d/2 - 1} of every row rotated by {@code position · 500000^(-2f/d)}
 * (interleaved pairs), and per KV group g two unit directions drawn from the seed, a content direction {@code u_g}
 * over the first {@code d/2 - 2} pairs and a column direction {@code v_g} over the last two (the slowest
 * frequencies):
 * <pre>
 *   key j of group g:     RoPE_j( √ℓ u_g + 1.3 b_j √ℓ v_g + ε )
 *   query i of head h:    RoPE_i( s_h √ℓ u_g + c_h √ℓ v_g + ε )
 * </pre>
 * so the logit {@code q·k / √d} is {@code s_h ℓ C_u(i - j) + 1.3 c_h b_j ℓ C_v(i - j)} plus noise of standard
 * deviation about 1, where {@code C(δ) = Σ_f w_f cos(δ θ_f)} is the direction's rotary autocorrelation: 1 at δ = 0,
 * decaying slowly with δ as faster pairs fall out of phase. Queries and keys of a KV group share their content
 * direction, so every head sees a local band whose width follows its sharpness {@code s_h} (drawn per head in
 * [0.3, 1.5]). {@code b_j} is 1 for the first 4 keys (sinks) and 0.7 for {@code 16 + L/8192} scattered heavy columns
 * (seeded positions), 0 elsewhere; {@code c_h} in [0.6, 1.2]. {@code ε} has entries of variance {@code 1/√d}.
 * Entries are then scaled by {@code d^(1/4)}, so that magnitudes stay small (bf16-safe). Values are standard
 * Gaussian. Rows are seeded by (seed, tensor, row) and generated in parallel, reproducibly.
 */
final class RopeAttention {
    static final double BASE = 500000;
    private static final double COLUMN_LEVEL = 1.3;

    private final AttentionShape shape;
    private final long seed;
    private final int pairs;
    private final double[] theta;
    private final double[][] content;
    private final double[][] column;
    private final double[] sharpness;
    private final double[] columnWeight;
    private final float[] keyColumn;
    private final double rootEll;
    private final double noise;
    private final double entryScale;

    private RopeAttention(AttentionShape shape, int length, long seed) {
        this.shape = shape;
        this.seed = seed;
        int d = shape.headDim();
        this.pairs = d / 2;
        this.theta = new double[pairs];
        for (int f = 0; f < pairs; f++) theta[f] = Math.pow(BASE, -2.0 * f / d);
        SplittableRandom random = new SplittableRandom(seed ^ 0x2545F4914F6CDD1DL);
        this.content = new double[shape.numKvHeads()][];
        this.column = new double[shape.numKvHeads()][];
        for (int g = 0; g < shape.numKvHeads(); g++) {
            content[g] = direction(random, d, 0, 2 * (pairs - 2));
            column[g] = direction(random, d, 2 * (pairs - 2), d);
        }
        this.sharpness = new double[shape.numHeads()];
        this.columnWeight = new double[shape.numHeads()];
        for (int h = 0; h < shape.numHeads(); h++) {
            sharpness[h] = 0.3 + 1.2 * random.nextDouble();
            columnWeight[h] = 0.6 + 0.6 * random.nextDouble();
        }
        this.keyColumn = new float[length];
        for (int j = 0; j < Math.min(4, length); j++) keyColumn[j] = 1f;
        int heavy = Math.min(16 + length / 8192, Math.max(0, length - 4));
        for (int n = 0; n < heavy; ) {
            int j = 4 + random.nextInt(length - 4);
            if (keyColumn[j] == 0) {
                keyColumn[j] = 0.7f;
                n++;
            }
        }
        this.rootEll = Math.sqrt(Math.log(Math.max(length, 2)));
        this.noise = Math.pow(d, -0.25);
        this.entryScale = Math.pow(d, 0.25);
    }

    static SyntheticAttention.Sample generate(AttentionShape shape, int length, long seed) {
        if (shape.headDim() < 8 || shape.headDim() % 2 != 0) {
            throw new IllegalArgumentException("RoPE synthetic attention needs an even head size of at least 8, got "
                    + shape.headDim());
        }
        if (length < 1) throw new IllegalArgumentException("synthetic attention needs a length >= 1, got " + length);
        RopeAttention layout = new RopeAttention(shape, length, seed);
        Tensor q = Tensor.allocate(DType.F32, length, shape.queryDim());
        Tensor k = Tensor.allocate(DType.F32, length, shape.kvDim());
        Tensor v = Tensor.allocate(DType.F32, length, shape.kvDim());
        IntStream.range(0, length).parallel().forEach(i -> {
            layout.row(q, i, true);
            layout.row(k, i, false);
            SplittableRandom values = SyntheticAttention.rowRandom(seed, 3, i);
            for (int x = 0; x < shape.kvDim(); x++) {
                v.setFloat((long) i * shape.kvDim() + x, (float) values.nextGaussian());
            }
        });
        return new SyntheticAttention.Sample(q, k, v);
    }

    /** A unit vector with Gaussian entries in {@code [from, to)}, zero elsewhere. */
    private static double[] direction(SplittableRandom random, int d, int from, int to) {
        double[] u = new double[d];
        double norm = 0;
        for (int x = from; x < to; x++) {
            u[x] = random.nextGaussian();
            norm += u[x] * u[x];
        }
        for (int x = from; x < to; x++) u[x] /= Math.sqrt(norm);
        return u;
    }

    private void row(Tensor t, int position, boolean query) {
        SplittableRandom random = SyntheticAttention.rowRandom(seed, query ? 1 : 2, position);
        int d = shape.headDim();
        double[] cos = new double[pairs], sin = new double[pairs];
        for (int f = 0; f < pairs; f++) {
            cos[f] = Math.cos(position * theta[f]);
            sin[f] = Math.sin(position * theta[f]);
        }
        int heads = query ? shape.numHeads() : shape.numKvHeads();
        int width = heads * d;
        double[] x = new double[d];
        for (int h = 0; h < heads; h++) {
            int g = query ? h / shape.groupSize() : h;
            double a = query ? sharpness[h] * rootEll : rootEll;
            double c = query ? columnWeight[h] * rootEll : COLUMN_LEVEL * keyColumn[position] * rootEll;
            for (int e = 0; e < d; e++) x[e] = a * content[g][e] + c * column[g][e] + noise * random.nextGaussian();
            long base = (long) position * width + (long) h * d;
            for (int f = 0; f < pairs; f++) {
                double even = x[2 * f], odd = x[2 * f + 1];
                t.setFloat(base + 2 * f, (float) (entryScale * (even * cos[f] - odd * sin[f])));
                t.setFloat(base + 2 * f + 1, (float) (entryScale * (even * sin[f] + odd * cos[f])));
            }
        }
    }
}
