package io.minference.config;

/**
 * How prompts are prefilled.
 *
 * @param blockSize tokens per prefill block: the prompt goes through the model as matrix-matrix products over
 *                  this many tokens at a time
 */
public record PrefillConfig(int blockSize) {
    public static final PrefillConfig DEFAULTS = new PrefillConfig(128);

    public PrefillConfig {
        Limits.blockSize(blockSize).ifPresent(p -> {
            throw new IllegalArgumentException("block_size " + p);
        });
    }
}
