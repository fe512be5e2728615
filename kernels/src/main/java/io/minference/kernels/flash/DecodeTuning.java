package io.minference.kernels.flash;

import io.minference.kernels.KernelSettings;

import java.util.List;

/**
 * The split-K decode's tuning knobs, read from Java system properties so that a benchmark can compare settings in
 * one call ({@code MINFERENCE_JAVA_OPTS="-Dminference.decode.combineWarps=1" bin/minference bench ...}):
 * <ul>
 *   <li>{@value #COMBINE_WARPS} (default 8): warps per head of {@link FlashDecodeCombine}; 1 is the one-warp
 *       combine that walks every split in turn.</li>
 *   <li>{@value #BLOCKS_PER_SM} (default 4): the split count's occupancy target, blocks of
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
 *   <li>{@value #UNPACK} ({@code permute}, the default, or {@code shifts}, the reference): the integer recipe that turns 8-bit
 *       codes into floats in the grouped decode ({@link io.minference.kernels.kvcache.KvCodeOps#decode}): the
 *       reference shifts (int8: a conversion per value), or {@code prmt} under a float exponent (int8: xor, prmt,
 *       fsub; e4m3: shift, arithmetic shift, AND, multiply). The same values.</li>
 *   <li>{@value #LANE_VALUES} (16, the default, or 8): elements of a row each lane of the grouped decode holds;
 *       16 halves the lanes that reduce each score and doubles the FMAs between shuffles (one 16-byte load of
 *       codes), for up to 4 query heads per KV head (more would not fit the registers; they keep 8).</li>
 *   <li>{@value #SCORES} ({@code head}, the default, or {@code lane}): whether every lane of a row reduces every
 *       query head's score and runs every head's softmax, or the partial scores are exchanged by a transposed
 *       butterfly (each level halves the values a lane sends) so that each lane ends with one head's score, runs
 *       that head's softmax alone and hands the probabilities to the row's other lanes (query heads per KV head a
 *       power of two, 4 or more).</li>
 *   <li>{@value #RESCALE} ({@code always}, the default, or {@code lazy}): whether the grouped decode rescales its
 *       accumulators whenever a running max grows, or only when some lane's grows by more than
 *       {@value GroupedFlashDecode#LAZY_RESCALE_LOG2} (in log2 units; a warp vote, then a branch that the whole warp
 *       takes or skips), the probabilities meanwhile taken against the max kept (at most
 *       2^{@value GroupedFlashDecode#LAZY_RESCALE_LOG2} each). The same function; the rounding differs a little.</li>
 * </ul>
 * A value out of range or not a number is an error that names the property.
 *
 * @param combineWarps warps per head of the combine
 * @param blocksPerSm  decode blocks per SM the split count aims at
 * @param unroll         loads in flight per lane and per K or V in the grouped decode
 * @param prefetch       whether the grouped decode loads a step ahead
 * @param fp8Instruction whether e4m3 codes are decoded by the conversion instruction where the target has it
 * @param permute        whether 8-bit codes are decoded by the permute recipe rather than the reference shifts
 * @param laneValues     row elements per lane in the grouped decode, 8 or 16
 * @param headScores     whether each lane reduces and softmaxes one query head's scores (the transposed butterfly)
 * @param lazyRescale    whether the accumulators are rescaled only when a running max grows past the threshold
 */
public record DecodeTuning(int combineWarps, int blocksPerSm, int unroll, boolean prefetch, boolean fp8Instruction,
                           boolean permute, int laneValues, boolean headScores, boolean lazyRescale) {
    public static final String COMBINE_WARPS = "minference.decode.combineWarps";
    public static final String BLOCKS_PER_SM = "minference.decode.blocksPerSm";
    public static final String UNROLL = "minference.decode.unroll";
    public static final String PREFETCH = "minference.decode.prefetch";
    public static final String FP8_DECODE = "minference.decode.fp8";
    public static final String UNPACK = "minference.decode.unpack";
    public static final String LANE_VALUES = "minference.decode.laneValues";
    public static final String SCORES = "minference.decode.scores";
    public static final String RESCALE = "minference.decode.rescale";
    /** The settings before the decode8 layouts: the reference that decode8-ab.sh compares them with. */
    public static final DecodeTuning REFERENCE = new DecodeTuning(8, 8, 4, false, true, false, 8, false, false);
    /**
     * The fastest layout of decode8-ab.sh's A/B on an H200 (BENCHMARKS.md, "8-bit decode layouts measured"): 4
     * blocks per SM, the permute unpack, 16 elements a lane and head scores; at 1M keys int8 2.63 TB/s, e4m3 2.66,
     * bf16 4.40 against the reference's 1.83, 1.99 and 3.88, in the same call.
     */
    public static final DecodeTuning DEFAULT = new DecodeTuning(8, 4, 4, false, true, true, 16, true, false);

    public DecodeTuning {
        check(COMBINE_WARPS, combineWarps, 1, 32);
        check(BLOCKS_PER_SM, blocksPerSm, 1, 64);
        check(UNROLL, unroll, 1, 8);
        if (laneValues != 8 && laneValues != 16) {
            throw new IllegalArgumentException(LANE_VALUES + " must be 8 or 16, not " + laneValues);
        }
    }

    /**
     * These settings with the default layout of the grouped decode's key loop (unpack, lane values, scores,
     * rescale).
     */
    public DecodeTuning(int combineWarps, int blocksPerSm, int unroll, boolean prefetch, boolean fp8Instruction) {
        this(combineWarps, blocksPerSm, unroll, prefetch, fp8Instruction, DEFAULT.permute, DEFAULT.laneValues,
                DEFAULT.headScores, DEFAULT.lazyRescale);
    }

    /** These settings with the grouped decode's code recipe, lane width and score layout replaced. */
    public DecodeTuning withLayout(boolean permute, int laneValues, boolean headScores) {
        return new DecodeTuning(combineWarps, blocksPerSm, unroll, prefetch, fp8Instruction, permute, laneValues,
                headScores, lazyRescale);
    }

    /** These settings with {@code unroll} warp loads in flight. */
    public DecodeTuning withUnroll(int unroll) {
        return new DecodeTuning(combineWarps, blocksPerSm, unroll, prefetch, fp8Instruction, permute, laneValues,
                headScores, lazyRescale);
    }

    /** These settings with the accumulators rescaled lazily or always. */
    public DecodeTuning withLazyRescale(boolean lazyRescale) {
        return new DecodeTuning(combineWarps, blocksPerSm, unroll, prefetch, fp8Instruction, permute, laneValues,
                headScores, lazyRescale);
    }

    /** The settings of the system properties, each unset one at its default. */
    public static DecodeTuning configured() {
        return new DecodeTuning(read(COMBINE_WARPS, DEFAULT.combineWarps), read(BLOCKS_PER_SM, DEFAULT.blocksPerSm),
                read(UNROLL, DEFAULT.unroll), choice(PREFETCH, "true", "false", DEFAULT.prefetch),
                choice(FP8_DECODE, "instruction", "integer", DEFAULT.fp8Instruction), choice(UNPACK, "permute",
                "shifts", DEFAULT.permute), read(LANE_VALUES, DEFAULT.laneValues), choice(SCORES, "head", "lane",
                DEFAULT.headScores), choice(RESCALE, "lazy", "always", DEFAULT.lazyRescale));
    }

    /** Whether {@code property} (unset: {@code fallback}) says {@code yes} rather than {@code no}, any case. */
    private static boolean choice(String property, String yes, String no, boolean fallback) {
        return KernelSettings.configured(property, fallback, List.of(true, false), chosen -> chosen ? yes : no);
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
