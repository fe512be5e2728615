package io.minference.llama.load;

import io.minference.llama.LlamaConfig;
import java.util.List;

/**
 * What {@code minference info} prints: the hyper-parameters and the tensors with their types, read without
 * loading the weights.
 *
 * @param source path or synthetic:NAME
 * @param format "gguf v3", "llama2.c" or "synthetic"
 */
public record ModelInfo(String source, String format, LlamaConfig config, List<TensorSummary> tensors) {
    /**
     * One tensor of the file, its stored type (F16, Q4_K, ...) and its shape, row-major with the slowest dimension
     * first (GGUF's ne reversed), as the tensor will be loaded.
     */
    public record TensorSummary(String name, String type, long[] shape) {
    }
}
