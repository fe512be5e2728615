package io.minference.llama.forward;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.util.Arrays;

/**
 * Checks, before any arithmetic, that the weights have the shapes and types that the configuration implies: norms
 * F32, matrices in any type the CPU backend computes on.
 */
public final class WeightShapes {
    private WeightShapes() {
    }

    public static void check(LlamaConfig c, LlamaWeights w) {
        int queryDim = c.numHeads() * c.headDim();
        matrix(w.tokenEmbedding(), "token embedding", c.vocabSize(), c.dim());
        expect(w.outputNorm(), "output norm", c.dim());
        matrix(w.classifier(), "classifier", c.vocabSize(), c.dim());
        if (w.layers().size() != c.numLayers()) {
            throw new IllegalArgumentException("the configuration has " + c.numLayers() + " layers but the weights "
                    + w.layers().size());
        }
        if (w.ropeFreqFactors() != null && w.ropeFreqFactors().length != c.headDim() / 2) {
            throw new IllegalArgumentException("RoPE frequency factors: expected " + c.headDim() / 2 + ", got "
                    + w.ropeFreqFactors().length);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = w.layers().get(l);
            String p = "layer " + l + " ";
            expect(lw.attentionNorm(), p + "attention norm", c.dim());
            matrix(lw.wq(), p + "query projection", queryDim, c.dim());
            matrix(lw.wk(), p + "key projection", c.kvDim(), c.dim());
            matrix(lw.wv(), p + "value projection", c.kvDim(), c.dim());
            matrix(lw.wo(), p + "output projection", c.dim(), queryDim);
            expect(lw.ffnNorm(), p + "feed-forward norm", c.dim());
            matrix(lw.wGate(), p + "gate projection", c.hiddenDim(), c.dim());
            matrix(lw.wUp(), p + "up projection", c.hiddenDim(), c.dim());
            matrix(lw.wDown(), p + "down projection", c.dim(), c.hiddenDim());
        }
    }

    private static void matrix(Tensor t, String name, long... shape) {
        if (t == null) throw new IllegalArgumentException("missing weight: " + name);
        if (!CpuBackend.computesOn(t.dtype()) || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("weight " + name + " is " + t + ", expected " + Arrays.toString(shape)
                    + " in a type the CPU backend computes on");
        }
    }

    private static void expect(Tensor t, String name, long... shape) {
        if (t == null) throw new IllegalArgumentException("missing weight: " + name);
        if (t.dtype() != DType.F32 || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("weight " + name + " is " + t + ", expected F32 " + Arrays.toString(shape));
        }
    }
}
