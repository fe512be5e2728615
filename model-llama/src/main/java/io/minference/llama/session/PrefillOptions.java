package io.minference.llama.session;

import io.minference.runtime.ProgressListener;
import java.util.Objects;

/**
 * What a prefill is asked for. Start from {@link #lastLogits(int)} and change one thing at a time with the
 * {@code with} methods.
 *
 * @param logitsToKeep   positions at the end of the prompt whose logits come back (1 for generation; more for
 *                       scoring a text in one pass)
 * @param attention      the plan for this prefill, or the session's when {@link #sessionAttention()} is true
 * @param progress       receives ("prefill", tokens done, tokens in all)
 * @param measureDensity whether a device prefill counts its density: the keys each sparse head attends, counted on
 *                       the device and read in the wait its dense fallback already makes (a few bytes per head, so
 *                       timed runs may measure too); the CPU counts always
 * @param profile        whether a device prefill reports a {@link PrefillProfile} (phase times, peak memory,
 *                       energy); the CPU reports none
 */
public record PrefillOptions(int logitsToKeep, AttentionPlan attention, ProgressListener progress,
                             boolean measureDensity, boolean profile) {
    public PrefillOptions {
        if (logitsToKeep < 1) throw new IllegalArgumentException("logits to keep must be >= 1, got " + logitsToKeep);
        Objects.requireNonNull(progress, "progress");
    }

    /** The logits of the last {@code n} positions, the session's attention, no progress, no device density. */
    public static PrefillOptions lastLogits(int n) {
        return new PrefillOptions(n, null, ProgressListener.NONE, false, false);
    }

    public PrefillOptions withAttention(AttentionPlan plan) {
        return new PrefillOptions(logitsToKeep, Objects.requireNonNull(plan, "plan"), progress, measureDensity,
                profile);
    }

    public PrefillOptions withProgress(ProgressListener listener) {
        return new PrefillOptions(logitsToKeep, attention, listener, measureDensity, profile);
    }

    public PrefillOptions measuringDensity() {
        return new PrefillOptions(logitsToKeep, attention, progress, true, profile);
    }

    /**
     * Asks a device prefill for its {@link PrefillProfile}: CUDA events between its phases, the peak device memory
     * and NVML's energy. The events cost little, but the profile synchronizes the device before and after.
     */
    public PrefillOptions profiling() {
        return new PrefillOptions(logitsToKeep, attention, progress, measureDensity, true);
    }

    /** Whether the session's own plan applies. */
    public boolean sessionAttention() {
        return attention == null;
    }
}
