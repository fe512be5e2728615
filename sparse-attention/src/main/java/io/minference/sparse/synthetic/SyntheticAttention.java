package io.minference.sparse.synthetic;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Synthetic attention inputs. Random Q/K give attention with no structure, which makes every sparse method look
 * dense; {@link #structured} plants the structure of long-context attention instead. It builds each logit
 * {@code q_i·k_j/√d} of query head h as a sum of parts, each from its own dimensions of the head (ℓ = ln L, and
 * w ∈ [0.75, 1.25] a per-head weight drawn from the seed, one per part, so heads differ in what dominates):
 * <ul>
 *   <li><b>sinks and strong columns</b> (1 dimension): {@code w · c_j}, with {@code c_j = ℓ + 1} for the first
 *       {@code sinkTokens} keys, {@code ℓ − 1} for {@code strongColumns} key positions drawn from the seed, 0
 *       elsewhere;</li>
 *   <li><b>local band</b> ({@code 2F} dimensions, rotary pairs): {@code w · Σ_f (ℓ/F) cos(ω_f (i − j))}, with F
 *       frequencies geometric from π/2 down to 2π/L: a peak of ℓ on the main diagonal decaying with distance;</li>
 *   <li><b>periodic diagonals</b> (one rotary pair): {@code w · (ℓ − 3) cos(2π (i − j) / period)}, peaks every
 *       {@code period} tokens (default {@code max(64, L / 16)});</li>
 *   <li><b>noise</b> (the remaining m dimensions): Gaussian query and key entries whose products sum to a logit of
 *       standard deviation {@code noise}.</li>
 * </ul>
 * Levels grow with ln L so that each part keeps about the same share of a row's attention mass at every length
 * (the noise mass grows like L). Every part is a function of the key alone or of i − j alone, which vertical and
 * slash selection capture; only the noise is not. Values are standard Gaussian. Each row's entries come from a
 * generator seeded by (seed, tensor, row), so generation runs in parallel and is reproducible. The query and key
 * entries are scaled by d^(1/4) each, so the logits are the parts above; magnitudes stay near ℓ, safe in bf16.
 *
 * <p>{@link #random} gives the unstructured worst case: every Q, K and V entry standard Gaussian.
 */
public final class SyntheticAttention {
    /**
     * @param sinkTokens       the first keys that every query attends strongly
     * @param strongColumns    further key positions attended strongly by every later query
     * @param period           distance between periodic diagonals; 0 picks {@code max(64, L / 16)}
     * @param localFrequencies rotary pairs of the local band (fewer when the head is small)
     * @param noise            standard deviation of the noise logit
     */
    public record Parameters(int sinkTokens, int strongColumns, int period, int localFrequencies, double noise) {
        public static final Parameters DEFAULT = new Parameters(4, 16, 0, 8, 1.0);

        public Parameters {
            if (sinkTokens < 0 || strongColumns < 0 || period < 0 || localFrequencies < 1 || !(noise >= 0)) {
                throw new IllegalArgumentException("synthetic attention needs non-negative counts, at least one local"
                        + " frequency and noise >= 0; got " + sinkTokens + ", " + strongColumns + ", " + period + ", "
                        + localFrequencies + ", " + noise);
            }
        }
    }

    /** F32 queries {@code [L, queryDim]}, keys and values {@code [L, kvDim]}; closes all three. */
    public record Sample(Tensor queries, Tensor keys, Tensor values) implements AutoCloseable {
        @Override
        public void close() {
            queries.close();
            keys.close();
            values.close();
        }
    }

    private SyntheticAttention() {
    }

    public static Sample structured(AttentionShape shape, int length, long seed) {
        return structured(shape, length, seed, Parameters.DEFAULT);
    }

    public static Sample structured(AttentionShape shape, int length, long seed, Parameters parameters) {
        int d = shape.headDim();
        if (d < 6) throw new IllegalArgumentException("synthetic attention needs a head size of at least 6, got " + d);
        if (length < 1) throw new IllegalArgumentException("synthetic attention needs a length >= 1, got " + length);
        Layout layout = new Layout(shape, length, seed, parameters);
        Tensor q = Tensor.allocate(DType.F32, length, shape.queryDim());
        Tensor k = Tensor.allocate(DType.F32, length, shape.kvDim());
        Tensor v = Tensor.allocate(DType.F32, length, shape.kvDim());
        IntStream.range(0, length).parallel().forEach(i -> {
            layout.queryRow(q, i);
            layout.keyRow(k, i);
            gaussianRow(v, i, shape.kvDim(), seed, 3, 1.0);
        });
        return new Sample(q, k, v);
    }

    /**
     * Locality from real rotary embeddings (base 500000) on queries and keys that share a content direction per KV
     * group, with sinks, scattered heavy columns and a sharpness that varies per head: see {@link RopeAttention}.
     */
    public static Sample rope(AttentionShape shape, int length, long seed) {
        return RopeAttention.generate(shape, length, seed);
    }

    /** Every entry standard Gaussian: attention with no structure. */
    public static Sample random(AttentionShape shape, int length, long seed) {
        Tensor q = Tensor.allocate(DType.F32, length, shape.queryDim());
        Tensor k = Tensor.allocate(DType.F32, length, shape.kvDim());
        Tensor v = Tensor.allocate(DType.F32, length, shape.kvDim());
        IntStream.range(0, length).parallel().forEach(i -> {
            gaussianRow(q, i, shape.queryDim(), seed, 1, 1.0);
            gaussianRow(k, i, shape.kvDim(), seed, 2, 1.0);
            gaussianRow(v, i, shape.kvDim(), seed, 3, 1.0);
        });
        return new Sample(q, k, v);
    }

    static SplittableRandom rowRandom(long seed, int tensor, long row) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + tensor * 0xBF58476D1CE4E5B9L + row);
    }

    private static void gaussianRow(Tensor t, int row, int width, long seed, int tensor, double sd) {
        SplittableRandom random = rowRandom(seed, tensor, row);
        for (int x = 0; x < width; x++) t.setFloat((long) row * width + x, (float) (sd * random.nextGaussian()));
    }

    /** Where each part lives in a head's dimensions, and its levels. */
    private static final class Layout {
        final AttentionShape shape;
        final long seed;
        final int frequencies;
        final int noiseDims;
        final double[] omega;
        final double periodOmega;
        final double bandAmplitude;
        final double periodAmplitude;
        final double[] columnLogit;
        final double[][] headWeights;
        final double entryScale;
        final double noiseEntry;

        Layout(AttentionShape shape, int length, long seed, Parameters p) {
            this.shape = shape;
            this.seed = seed;
            int d = shape.headDim();
            this.frequencies = Math.min(p.localFrequencies(), (d - 4) / 2);
            this.noiseDims = d - 3 - 2 * frequencies;
            double ell = Math.log(Math.max(length, 2));
            this.omega = new double[frequencies];
            double low = Math.min(Math.PI / 2, 2 * Math.PI / length);
            for (int f = 0; f < frequencies; f++) {
                omega[f] = frequencies == 1 ? Math.PI / 2
                        : Math.PI / 2 * Math.pow(low / (Math.PI / 2), (double) f / (frequencies - 1));
            }
            int period = p.period() > 0 ? p.period() : Math.max(64, length / 16);
            this.periodOmega = 2 * Math.PI / period;
            this.bandAmplitude = ell / frequencies;
            this.periodAmplitude = Math.max(0, ell - 3);
            this.columnLogit = new double[length];
            for (int j = 0; j < Math.min(p.sinkTokens(), length); j++) columnLogit[j] = ell + 1;
            SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
            int free = length - Math.min(p.sinkTokens(), length);
            for (int n = 0; n < Math.min(p.strongColumns(), free); ) {
                int j = p.sinkTokens() + random.nextInt(free);
                if (columnLogit[j] == 0) {
                    columnLogit[j] = ell - 1;
                    n++;
                }
            }
            this.headWeights = new double[shape.numHeads()][3];
            for (double[] w : headWeights) for (int part = 0; part < 3; part++) w[part] = 0.75 + 0.5 * random.nextDouble();
            this.entryScale = Math.pow(d, 0.25);
            this.noiseEntry = Math.sqrt(p.noise() / Math.sqrt(noiseDims));
        }

        void queryRow(Tensor q, int i) {
            SplittableRandom random = rowRandom(seed, 1, i);
            int d = shape.headDim();
            for (int h = 0; h < shape.numHeads(); h++) {
                double[] w = headWeights[h];
                float[] row = new float[d];
                row[0] = (float) w[0];
                for (int f = 0; f < frequencies; f++) {
                    row[1 + 2 * f] = (float) (w[1] * bandAmplitude * Math.cos(omega[f] * i));
                    row[2 + 2 * f] = (float) (w[1] * bandAmplitude * Math.sin(omega[f] * i));
                }
                int at = 1 + 2 * frequencies;
                row[at] = (float) (w[2] * periodAmplitude * Math.cos(periodOmega * i));
                row[at + 1] = (float) (w[2] * periodAmplitude * Math.sin(periodOmega * i));
                for (int x = at + 2; x < d; x++) row[x] = (float) (noiseEntry * random.nextGaussian());
                long base = (long) i * shape.queryDim() + (long) h * d;
                for (int x = 0; x < d; x++) q.setFloat(base + x, (float) (row[x] * entryScale));
            }
        }

        void keyRow(Tensor k, int j) {
            SplittableRandom random = rowRandom(seed, 2, j);
            int d = shape.headDim();
            for (int kv = 0; kv < shape.numKvHeads(); kv++) {
                float[] row = new float[d];
                row[0] = (float) columnLogit[j];
                for (int f = 0; f < frequencies; f++) {
                    row[1 + 2 * f] = (float) Math.cos(omega[f] * j);
                    row[2 + 2 * f] = (float) Math.sin(omega[f] * j);
                }
                int at = 1 + 2 * frequencies;
                row[at] = (float) Math.cos(periodOmega * j);
                row[at + 1] = (float) Math.sin(periodOmega * j);
                for (int x = at + 2; x < d; x++) row[x] = (float) (noiseEntry * random.nextGaussian());
                long base = (long) j * shape.kvDim() + (long) kv * d;
                for (int x = 0; x < d; x++) k.setFloat(base + x, (float) (row[x] * entryScale));
            }
        }
    }
}
