package io.minference.app.server;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.KeptKeys;
import io.minference.llama.session.LlamaSession;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The attention modes the server runs, with each mode's patterns (those of {@link SparsePrefill#of}: the server's
 * {@code --patterns} file for minference, as on the CLI, else the mode's default), and the index behind the per-head
 * pattern picture.
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
     * The attention plan of {@code mode} for prompts of at least {@code sparseThreshold} tokens.
     *
     * @param patterns the pattern file minference follows (the project's YAML or MInference's JSON), or null for
     *                 the default budget; the other modes take none, as on the command line
     * @throws ApiException when this build cannot run {@code mode}
     */
    static AttentionPlan plan(String mode, int sparseThreshold, LlamaConfig config, Path patterns) {
        if (mode.equals(DENSE)) return AttentionPlan.dense();
        if (!ALL.contains(mode)) throw unavailable(mode);
        return AttentionPlan.sparse(sparse(mode, sparseThreshold, config, patterns));
    }

    private static SparsePrefill sparse(String mode, int sparseThreshold, LlamaConfig config, Path patterns) {
        AttentionMode parsed = AttentionMode.parse(mode);
        AttentionConfig attention = new AttentionConfig(parsed, parsed == AttentionMode.MINFERENCE ? patterns : null,
                sparseThreshold, null);
        return SparsePrefill.of(attention, config, SparsePrefill.registeredPatterns());
    }

    /**
     * The keys that head {@code head} of layer {@code layer} keeps for {@code prompt} under {@code mode} (see
     * {@link LlamaSession#headKeys}). Empty for dense.
     */
    static Optional<KeptKeys> patternKeys(LlamaSession session, int[] prompt, String mode, Path patterns,
                                          int layer, int head, GenerationListener progress) {
        return session.headKeys(prompt, plan(mode, 0, session.config(), patterns), layer, head, progress);
    }

    static ApiException unavailable(String mode) {
        return new ApiException(400, "invalid_request_error", "minference.attention",
                "attention mode " + mode + " is not available in this build (available: "
                        + String.join(", ", available()) + ")");
    }
}
