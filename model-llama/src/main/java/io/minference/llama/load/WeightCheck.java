package io.minference.llama.load;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaWeights;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A scan of a loaded model's weights for NaN and infinite values, which load fine and only show at generation, as
 * garbage or a NaN in the logits. It reads every value once (F32, F16 and BF16; integer tensors hold none), so it
 * is offered as {@code info --check} rather than run at every load.
 */
public final class WeightCheck {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;

    private WeightCheck() {
    }

    /** A value that is not finite: which tensor, where, and what. */
    public record Finding(String tensor, long index, float value) {
    }

    /** The first non-finite value, tensor by tensor; reports ("check", values done, values in all). */
    public static Optional<Finding> firstNonFinite(LlamaWeights weights, ProgressListener progress) {
        Map<String, Tensor> tensors = named(weights);
        long total = tensors.values().stream().mapToLong(Tensor::elementCount).sum();
        long done = 0;
        progress.progress("check", 0, total);
        for (var entry : tensors.entrySet()) {
            Optional<Finding> found = scan(entry.getKey(), entry.getValue());
            if (found.isPresent()) return found;
            done += entry.getValue().elementCount();
            progress.progress("check", done, total);
        }
        return Optional.empty();
    }

    private static Optional<Finding> scan(String name, Tensor tensor) {
        MemorySegment data = tensor.data();
        long count = tensor.elementCount();
        DType type = tensor.dtype();
        if (type != DType.F32 && type != DType.F16 && type != DType.BF16) return Optional.empty();
        for (long i = 0; i < count; i++) {
            float v = switch (type) {
                case F32 -> data.getAtIndex(F32, i);
                case F16 -> Float.float16ToFloat(data.getAtIndex(HALF, i));
                default -> Float.intBitsToFloat(data.getAtIndex(HALF, i) << 16);
            };
            if (!Float.isFinite(v)) return Optional.of(new Finding(name, i, v));
        }
        return Optional.empty();
    }

    private static Map<String, Tensor> named(LlamaWeights weights) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("token embedding", weights.tokenEmbedding());
        for (int l = 0; l < weights.layers().size(); l++) {
            LayerWeights w = weights.layers().get(l);
            String p = "layer " + l + " ";
            tensors.put(p + "attention norm", w.attentionNorm());
            tensors.put(p + "wq", w.wq());
            tensors.put(p + "wk", w.wk());
            tensors.put(p + "wv", w.wv());
            tensors.put(p + "wo", w.wo());
            tensors.put(p + "ffn norm", w.ffnNorm());
            tensors.put(p + "w gate", w.wGate());
            tensors.put(p + "w down", w.wDown());
            tensors.put(p + "w up", w.wUp());
        }
        tensors.put("output norm", weights.outputNorm());
        if (!weights.sharedClassifier()) tensors.put("classifier", weights.classifier());
        return tensors;
    }
}
