package io.minference.config;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The valid range of each setting, shared by the configuration file and the command-line flags so that both refuse
 * the same values with the same words. Each method returns the problem, or empty when the value is fine.
 */
public final class Limits {
    public static final int MAX_BLOCK_SIZE = 4096;
    private static final Pattern DEVICE = Pattern.compile("auto|cpu|cuda|cuda:\\d{1,4}");

    private Limits() {
    }

    public static Optional<String> maxTokens(long value) {
        return value >= 1 && value <= Integer.MAX_VALUE ? Optional.empty()
                : Optional.of("must be an integer from 1 to " + Integer.MAX_VALUE + ", got " + value);
    }

    public static Optional<String> temperature(double value) {
        return value >= 0 && Double.isFinite(value) ? Optional.empty()
                : Optional.of("must be a finite number >= 0 (0 is greedy), got " + value);
    }

    public static Optional<String> topP(double value) {
        return value > 0 && value <= 1 ? Optional.empty()
                : Optional.of("must be a number in (0, 1] (1 disables nucleus sampling), got " + value);
    }

    public static Optional<String> blockSize(long value) {
        return value >= 1 && value <= MAX_BLOCK_SIZE && Long.bitCount(value) == 1 ? Optional.empty()
                : Optional.of("must be a power of two from 1 to " + MAX_BLOCK_SIZE + ", got " + value);
    }

    public static Optional<String> device(String value) {
        return DEVICE.matcher(value).matches() ? Optional.empty()
                : Optional.of("must be auto, cpu, cuda or cuda:N, got '" + value + "'");
    }
}
