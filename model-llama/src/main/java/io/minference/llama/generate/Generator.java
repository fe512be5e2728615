package io.minference.llama.generate;

import io.minference.llama.LlamaModel;
import io.minference.runtime.Backend;
import io.minference.runtime.ProgressListener;
import java.util.function.IntConsumer;

/**
 * Prefills a prompt, then samples tokens until a stop token, the token limit or the end of the context.
 * (Owned by the CPU-compute work; stub.)
 */
public final class Generator implements AutoCloseable {

    public Generator(LlamaModel model, Backend backend) {
        throw new UnsupportedOperationException("stub");
    }

    /**
     * @param prompt    prompt ids, BOS included where wanted; a prompt that does not fit the context is refused
     *                  with an IllegalArgumentException naming both lengths
     * @param maxTokens generated tokens at most, the prompt excluded
     * @param onToken   receives each generated id as soon as it is sampled (stop tokens are not passed on)
     * @param progress  prefill progress, in tokens
     */
    public GenerationResult generate(int[] prompt, int maxTokens, SamplingOptions sampling, IntConsumer onToken,
                                     ProgressListener progress) {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {
    }
}
