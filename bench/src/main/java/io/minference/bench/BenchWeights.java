package io.minference.bench;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Random weights of a given shape, for benchmarks: the arithmetic costs the same whatever the values. */
final class BenchWeights {
    private BenchWeights() {
    }

    static Tensor random(SplittableRandom random, double scale, long rows, long cols) {
        Tensor t = Tensor.allocate(DType.F32, rows, cols);
        long n = rows * cols;
        for (long i = 0; i < n; i++) t.setFloat(i, (float) ((random.nextDouble() * 2 - 1) * scale));
        return t;
    }

    /**
     * Random blocks of a quantized type: random bytes for the quants and sub-block scales, and small F16 scales where
     * each block keeps them (random bits there would make infinities and NaNs, which model files do not hold).
     */
    static Tensor randomBlocks(SplittableRandom random, DType type, long rows, long cols) {
        Tensor t = Tensor.allocate(type, rows, cols);
        MemorySegment m = t.data();
        for (long i = 0; i + 8 <= m.byteSize(); i += 8) m.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        int[] halves = switch (type) {
            case Q8_0, Q4_0, Q5_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException("no random blocks of " + type);
        };
        for (long b = 0; b < rows * cols / type.blockSize(); b++) {
            for (int at : halves) {
                m.set(ValueLayout.JAVA_SHORT_UNALIGNED, b * type.blockBytes() + at,
                        Float.floatToFloat16((float) random.nextDouble(-0.05, 0.05)));
            }
        }
        return t;
    }

    static LlamaWeights llama(LlamaConfig c, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int queryDim = c.numHeads() * c.headDim();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            layers.add(new LayerWeights(
                    ones(c.dim()),
                    random(random, 1 / Math.sqrt(c.dim()), queryDim, c.dim()),
                    random(random, 1 / Math.sqrt(c.dim()), c.kvDim(), c.dim()),
                    random(random, 1 / Math.sqrt(c.dim()), c.kvDim(), c.dim()),
                    random(random, 1 / Math.sqrt(queryDim), c.dim(), queryDim),
                    ones(c.dim()),
                    random(random, 1 / Math.sqrt(c.dim()), c.hiddenDim(), c.dim()),
                    random(random, 1 / Math.sqrt(c.hiddenDim()), c.dim(), c.hiddenDim()),
                    random(random, 1 / Math.sqrt(c.dim()), c.hiddenDim(), c.dim())));
        }
        Tensor embedding = random(random, 1, c.vocabSize(), c.dim());
        return new LlamaWeights(embedding, layers, ones(c.dim()), embedding, null);
    }

    private static Tensor ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return Tensor.ofFloats(v, n);
    }
}
