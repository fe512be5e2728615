package io.minference.llama.generate;

import io.minference.kernels.attention.CausalAttention;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.gpu.GpuLlamaForward;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.sampling.RandomSampler;
import io.minference.llama.sampling.Sampler;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.CudaBackend;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Prefills a prompt, then samples tokens until a stop token, the token limit or the end of the context. Each call to
 * {@link #generate} is an independent sequence with a KV cache sized to it. The backend stays the caller's to close.
 * On a {@link CudaBackend} the weights are uploaded once, at construction, and freed by {@link #close}; the prompt
 * then goes through in chunks of {@link GpuLlamaForward#DEFAULT_CHUNK_SIZE} with dense attention.
 */
public final class Generator implements AutoCloseable {
    private final LlamaModel model;
    private final CpuBackend backend;
    private final CudaBackend cuda;
    private final GpuLlamaWeights gpuWeights;
    private final CausalAttention prefillAttention;
    private final int blockSize;

    public Generator(LlamaModel model, Backend backend) {
        this(model, backend, null, LlamaForward.DEFAULT_BLOCK_SIZE);
    }

    /**
     * @param prefillAttention attention for the prompt's blocks (a sparse prefill, say), or null for dense
     * @param blockSize        prompt tokens per block
     */
    public Generator(LlamaModel model, Backend backend, CausalAttention prefillAttention, int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        switch (backend) {
            case CpuBackend cpu -> {
                this.backend = cpu;
                this.cuda = null;
                this.gpuWeights = null;
            }
            case CudaBackend gpu -> {
                if (prefillAttention != null) {
                    throw new IllegalArgumentException("the cuda backend runs dense attention only; a sparse prefill"
                            + " attention runs on the cpu backend");
                }
                this.backend = null;
                this.cuda = gpu;
                this.gpuWeights = GpuLlamaWeights.upload(gpu.context(), model);
            }
            case null, default -> throw new IllegalArgumentException("the forward pass runs on the cpu or cuda"
                    + " backend, not on " + (backend == null ? "null" : backend.name()));
        }
        this.model = model;
        this.prefillAttention = prefillAttention;
        this.blockSize = blockSize;
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
        LlamaConfig config = model.config();
        checkPrompt(prompt, config);
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        Sampler sampler = Sampler.of(sampling == null ? SamplingOptions.GREEDY : sampling);
        IntConsumer sink = onToken == null ? token -> { } : onToken;
        Tokenizer tokenizer = model.tokenizer();

        int capacity = (int) Math.min(config.contextLength(), (long) prompt.length + maxTokens);
        capacity = Math.max(capacity, prompt.length);
        int[] generated = new int[capacity - prompt.length];
        int count = 0;
        String stopReason;
        long prefillNanos;
        long decodeStart;
        try (SequenceForward forward = open(capacity, sampler)) {
            long start = System.nanoTime();
            int token = forward.prefill(prompt, progress == null ? ProgressListener.NONE : progress);
            decodeStart = System.nanoTime();
            prefillNanos = decodeStart - start;
            while (true) {
                if (count == maxTokens) {
                    stopReason = "length";
                    break;
                }
                if (prompt.length + count == config.contextLength()) {
                    stopReason = "context";
                    break;
                }
                if (tokenizer != null && tokenizer.isStopToken(token)) {
                    stopReason = "eos";
                    break;
                }
                generated[count++] = token;
                sink.accept(token);
                // The last token allowed needs no forward pass: nothing will be sampled after it.
                if (count == maxTokens || prompt.length + count == config.contextLength()) continue;
                token = forward.decode(token);
            }
        }
        long decodeNanos = System.nanoTime() - decodeStart;
        return new GenerationResult(Arrays.copyOf(generated, count), prompt.length, prefillNanos, decodeNanos,
                stopReason);
    }

    /** The CPU or the GPU forward pass of one sequence, each call returning the sampler's choice of next token. */
    private interface SequenceForward extends AutoCloseable {
        int prefill(int[] tokens, ProgressListener progress);

        int decode(int token);

        @Override
        void close();
    }

    private SequenceForward open(int capacity, Sampler sampler) {
        if (cuda != null) {
            GpuLlamaForward gpu = new GpuLlamaForward(gpuWeights, cuda, capacity);
            // Tokens are picked on the device, so that only their ids cross to the host; a random sampler gives its
            // next uniform number, for which the device picks the token that the sampler itself would.
            return new SequenceForward() {
                public int prefill(int[] tokens, ProgressListener progress) {
                    gpu.prefill(tokens, progress);
                    return switch (sampler) {
                        case GreedySampler greedy -> gpu.argmaxOfLogits();
                        case RandomSampler random -> gpu.sampleOfLogits(random.temperature(), random.topP(),
                                random.nextUniform());
                        default -> throw new IllegalArgumentException("no device form of " + sampler);
                    };
                }

                public int decode(int token) {
                    return switch (sampler) {
                        case GreedySampler greedy -> gpu.decodeArgmax(token);
                        case RandomSampler random -> gpu.decodeSample(token, random.temperature(), random.topP(),
                                random.nextUniform());
                        default -> throw new IllegalArgumentException("no device form of " + sampler);
                    };
                }

                public void close() {
                    gpu.close();
                }
            };
        }
        LlamaForward cpu = new LlamaForward(model.config(), model.weights(), backend, prefillAttention, capacity,
                blockSize);
        return new SequenceForward() {
            public int prefill(int[] tokens, ProgressListener progress) {
                return sample(sampler, cpu.prefill(tokens, progress), cpu.position());
            }

            public int decode(int token) {
                return sample(sampler, cpu.decode(token), cpu.position());
            }

            public void close() {
                cpu.close();
            }
        };
    }

    private static int sample(Sampler sampler, float[] logits, int position) {
        checkFinite(logits, position);
        return sampler.sample(logits);
    }

    private static void checkPrompt(int[] prompt, LlamaConfig config) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: at least one token (BOS, for instance) is needed");
        }
        if (prompt.length > config.contextLength()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the model's context of "
                    + config.contextLength() + " tokens");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + prompt[i] + " at position " + i
                        + " is outside the vocabulary of " + config.vocabSize());
            }
        }
    }

    private static void checkFinite(float[] logits, int position) {
        for (float v : logits) {
            if (Float.isNaN(v)) {
                throw new IllegalStateException("the model produced NaN logits at position " + position);
            }
        }
    }

    @Override
    public void close() {
        if (gpuWeights != null) gpuWeights.close();
    }
}
