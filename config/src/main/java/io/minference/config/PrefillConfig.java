package io.minference.config;

/**
 * How prompts are prefilled.
 *
 * @param blockSize tokens per attention block of the sparse prefill
 */
public record PrefillConfig(int blockSize) {
    public static final PrefillConfig DEFAULTS = new PrefillConfig(64);

    public PrefillConfig {
        Limits.blockSize(blockSize).ifPresent(p -> {
            throw new IllegalArgumentException("block_size " + p);
        });
    }
}
