package io.minference.app.server;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.attention.CpuCausalAttention;
import io.minference.kernels.attention.PromptAttention;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SparsePrefill;
import io.minference.runtime.Backend;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.IndexCapacity;
import io.minference.sparse.pattern.PatternRegistry;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The attention modes the server runs, with each mode's default patterns (those of {@link SparsePrefill#of}: the
 * same as the CLI without {@code --patterns}), and the per-head pattern picture.
 */
final class AttentionModes {
    static final String DENSE = "dense";
    static final List<String> ALL = List.of(DENSE, "minference", "a-shape", "vertical-slash", "block-sparse");
    /** Prompts shorter than this stay dense under a sparse mode (issue 5's default). */
    static final int DEFAULT_SPARSE_THRESHOLD = AttentionConfig.DEFAULT_SPARSE_THRESHOLD;

    private AttentionModes() {
    }

    static List<String> available() {
        return ALL;
    }

    /**
     * A generator whose prefill follows {@code mode} for prompts of at least {@code sparseThreshold} tokens.
     *
     * @throws ApiException when this build cannot run {@code mode}
     */
    static Generator generator(String mode, int sparseThreshold, LlamaModel model, Backend backend, int blockSize) {
        if (mode.equals(DENSE)) return new Generator(model, backend, null, blockSize);
        if (!ALL.contains(mode)) throw unavailable(mode);
        return new Generator(model, backend, null, blockSize, sparse(mode, sparseThreshold, model.config()));
    }

    private static SparsePrefill sparse(String mode, int sparseThreshold, LlamaConfig config) {
        AttentionConfig attention = new AttentionConfig(AttentionMode.parse(mode), null, sparseThreshold, null);
        return SparsePrefill.of(attention, config, Set.of());
    }

    /** The prefill attention that {@link #generator}'s generator runs for a prompt of {@code promptTokens}. */
    static String pathTaken(String mode, int promptTokens, int sparseThreshold) {
        return mode.equals(DENSE) || promptTokens < sparseThreshold ? DENSE : mode;
    }

    /**
     * The keys that head {@code head} of layer {@code layer} keeps for {@code prompt} under {@code mode}, as one head
     * slot of an index: a dense prefill on the CPU up to that layer, whose queries and keys the head's pattern
     * estimates its index from, as the sparse prefill would. Empty for dense.
     */
    static Optional<SparseIndex> patternIndex(LlamaModel model, Backend backend, int[] prompt, String mode,
                                              int layer, int head, Cancellation cancellation) {
        if (mode.equals(DENSE)) return Optional.empty();
        LlamaConfig c = model.config();
        HeadPattern pattern = sparse(mode, 0, c).plan().pattern(layer, head);
        CpuBackend cpu = backend instanceof CpuBackend given ? given : new CpuBackend();
        SparseIndex[] found = new SparseIndex[1];
        PromptAttention dense = PromptAttention.dense(new CpuCausalAttention(cpu), 128);
        PromptAttention recording = (l, shape, queries, keys, values, out, length) -> {
            if (cancellation.isCancelled()) throw new GenerationCancelledException();
            if (l == layer) {
                found[0] = indexOf(pattern, shape, queries, keys, length, head);
                throw new LayerReached();
            }
            dense.attend(l, shape, queries, keys, values, out, length);
        };
        try (LlamaForward forward = new LlamaForward(c, model.weights(), cpu, null, prompt.length, 128)) {
            forward.prefill(prompt, (stage, done, total) -> {
                if (cancellation.isCancelled()) throw new GenerationCancelledException();
            }, recording);
        } catch (LayerReached reached) {
            return Optional.of(found[0]);
        } finally {
            if (cpu != backend) cpu.close();
        }
        return Optional.ofNullable(found[0]);
    }

    private static SparseIndex indexOf(HeadPattern pattern, AttentionShape shape, Tensor queries, Tensor keys,
                                       int length, int head) {
        HeadIndex selection = PatternRegistry.standard().estimate(pattern, new LayerInputs(shape, queries, keys,
                length), head);
        IndexCapacity capacity = selection.capacity();
        SparseIndex index = new SparseIndex(head, 1, length, capacity.maxRanges(), capacity.maxColumns());
        selection.writeTo(index, 0);
        return index;
    }

    /** Stops the prefill once the chosen layer's index is built: the later layers do not change it. */
    private static final class LayerReached extends RuntimeException {
        LayerReached() {
            super(null, null, false, false);
        }
    }

    static ApiException unavailable(String mode) {
        return new ApiException(400, "invalid_request_error", "minference.attention",
                "attention mode " + mode + " is not available in this build (available: "
                        + String.join(", ", available()) + ")");
    }
}
