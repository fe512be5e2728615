package io.minference.app.server;

import io.minference.llama.LlamaModel;
import io.minference.llama.generate.Generator;
import io.minference.runtime.Backend;
import io.minference.sparse.SparseIndex;
import java.util.List;
import java.util.Optional;

/**
 * The one place that says which attention modes this build runs. Only dense is wired so far: the sparse prefill is
 * built in parallel, and its modes are refused with a plain "not available in this build" until it is wired here
 * ({@link #generator} and {@link #patternIndex}).
 */
final class AttentionModes {
    static final String DENSE = "dense";
    static final List<String> ALL = List.of(DENSE, "minference", "a-shape", "vertical-slash", "block-sparse");
    /** Prompts shorter than this stay dense under a sparse mode (issue 5's default). */
    static final int DEFAULT_SPARSE_THRESHOLD = 8192;

    private AttentionModes() {
    }

    static List<String> available() {
        return List.of(DENSE);
    }

    /**
     * A generator whose prefill follows {@code mode} for prompts of at least {@code sparseThreshold} tokens.
     *
     * @throws ApiException when this build cannot run {@code mode}
     */
    static Generator generator(String mode, int sparseThreshold, LlamaModel model, Backend backend, int blockSize) {
        if (mode.equals(DENSE)) return new Generator(model, backend, null, blockSize);
        throw unavailable(mode);
    }

    /** The prefill attention that {@link #generator}'s generator runs for a prompt of {@code promptTokens}. */
    static String pathTaken(String mode, int promptTokens, int sparseThreshold) {
        return mode.equals(DENSE) || promptTokens < sparseThreshold ? DENSE : mode;
    }

    /**
     * The keys that head {@code head} of layer {@code layer} keeps for {@code prompt} under {@code mode}, as one head
     * slot of an index; empty while the sparse prefill is not wired.
     */
    static Optional<SparseIndex> patternIndex(LlamaModel model, Backend backend, int[] prompt, String mode,
                                              int layer, int head) {
        return Optional.empty();
    }

    static ApiException unavailable(String mode) {
        return new ApiException(400, "invalid_request_error", "minference.attention",
                "attention mode " + mode + " is not available in this build (available: "
                        + String.join(", ", available()) + ")");
    }
}
