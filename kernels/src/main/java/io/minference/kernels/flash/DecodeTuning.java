package io.minference.kernels.flash;

import java.util.Locale;

/**
 * The split-K decode's tuning knobs, read from Java system properties so that a benchmark can compare settings in
 * one call ({@code MINFERENCE_JAVA_OPTS="-Dminference.decode.combineWarps=1" bin/minference bench ...}):
 * <ul>
 *   <li>{@value #COMBINE_WARPS} (default 8): warps per head of {@link FlashDecodeCombine}; 1 is the one-warp
 *       combine that walks every split in turn.</li>
 *   <li>{@value #BLOCKS_PER_SM} (default 8): the split count's occupancy target, blocks of
 *       {@link FlashDecode#SPLITS_PER_BLOCK} splits per SM over all KV heads (see
 *       {@link FlashAttention#splitBlocks}).</li>
 *   <li>{@value #UNROLL} (default 4): warp loads of K (and of V) that {@link GroupedFlashDecode} issues before
 *       using them, 1 to 8. 8 was 6 % faster on an H200 at 1M keys with 4 query heads per KV head (BENCHMARKS.md),
 *       but the kernels for 8 query heads per KV head spill with it.</li>
 *   <li>{@value #PREFETCH} ({@code false}, the default, or {@code true}): whether the grouped decode loads the
 *       next step's rows before computing on the current ones.</li>
 *   <li>{@value #FP8_DECODE} ({@code instruction}, the default, or {@code integer}): how the grouped decode turns
 *       e4m3 codes ({@code --kv-cache fp8}) into floats on sm_90a, by {@code cvt.rn.f16x2.e4m3x2} or by the integer
 *       operations that older targets always use (the same values). int8 codes ({@code --kv-cache int8}) always
 *       take integer operations (a sign extension and a conversion), whatever this says.</li>
 * </ul>
 * A value out of range or not a number is an error that names the property.
 *
 * @param combineWarps warps per head of the combine
 * @param blocksPerSm  decode blocks per SM the split count aims at
 * @param unroll         loads in flight per lane and per K or V in the grouped decode
 * @param prefetch       whether the grouped decode loads a step ahead
 * @param fp8Instruction whether e4m3 codes are decoded by the conversion instruction where the target has it
 */
public record DecodeTuning(int combineWarps, int blocksPerSm, int unroll, boolean prefetch, boolean fp8Instruction) {
    public static final String COMBINE_WARPS = "minference.decode.combineWarps";
    public static final String BLOCKS_PER_SM = "minference.decode.blocksPerSm";
    public static final String UNROLL = "minference.decode.unroll";
    public static final String PREFETCH = "minference.decode.prefetch";
    public static final String FP8_DECODE = "minference.decode.fp8";
    public static final DecodeTuning DEFAULT = new DecodeTuning(8, 8, 4, false, true);

    public DecodeTuning {
        check(COMBINE_WARPS, combineWarps, 1, 32);
        check(BLOCKS_PER_SM, blocksPerSm, 1, 64);
        check(UNROLL, unroll, 1, 8);
    }

    /** The settings of the system properties, each unset one at its default. */
    public static DecodeTuning configured() {
        return new DecodeTuning(read(COMBINE_WARPS, DEFAULT.combineWarps), read(BLOCKS_PER_SM, DEFAULT.blocksPerSm),
                read(UNROLL, DEFAULT.unroll), prefetch(System.getProperty(PREFETCH, "false")),
                fp8Instruction(System.getProperty(FP8_DECODE, "instruction")));
    }

    private static boolean prefetch(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(PREFETCH + " must be true or false, not '" + value + "'");
        };
    }

    private static boolean fp8Instruction(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "instruction" -> true;
            case "integer" -> false;
            default -> throw new IllegalArgumentException(FP8_DECODE + " must be instruction or integer, not '" + value
                    + "'");
        };
    }

    private static int read(String property, int fallback) {
        String value = System.getProperty(property);
        if (value == null) return fallback;
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(property + " must be a whole number, not '" + value + "'");
        }
    }

    private static void check(String property, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(property + " must be " + min + " to " + max + ", not " + value);
        }
    }
}
