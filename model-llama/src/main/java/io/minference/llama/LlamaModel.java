package io.minference.llama;

import io.minference.llama.tokenizer.Tokenizer;

/**
 * A loaded model: its hyper-parameters, weights and tokenizer.
 *
 * @param source a human-readable name of where it came from (a path, or synthetic:NAME)
 */
public record LlamaModel(String source, LlamaConfig config, LlamaWeights weights, Tokenizer tokenizer)
        implements AutoCloseable {
    @Override
    public void close() {
        weights.close();
    }
}
