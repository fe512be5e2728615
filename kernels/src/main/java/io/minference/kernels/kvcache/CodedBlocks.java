package io.minference.kernels.kvcache;

/**
 * Full 64-position blocks of one layer's K or V as the 8-bit cache keeps them, on the CPU: the twin of
 * {@link KvQuantize} and of the block quantization in {@link io.minference.kernels.transformer.RopeKvWrite}. Codes
 * are u8 [rows][numKvHeads headDim]; scales f32 [rows / 64][{@link KvScaleGroup#perRow}], the scale of row r, column
 * c at {@code (r / 64) perRow + c / channels}.
 *
 * @param format     the code format
 * @param group      whose scale grouping (keys or values)
 * @param numKvHeads KV heads
 * @param headDim    head size
 * @param codes      the codes
 * @param scales     the scales
 */
public record CodedBlocks(KvCodes format, KvScaleGroup group, int numKvHeads, int headDim, byte[] codes,
                          float[] scales) {
    /** Positions per block: the codes of a block are written once, when its last position is. */
    public static final int BLOCK_TOKENS = 64;

    /**
     * Quantizes {@code values} (bf16 numbers, [rows][numKvHeads headDim], rows a multiple of 64), each scale's
     * 64 rows and channels by {@link KvCodes#quantizeBlock}.
     */
    public static CodedBlocks quantize(KvCodes format, KvScaleGroup group, int numKvHeads, int headDim,
                                       float[] values) {
        int kvDim = numKvHeads * headDim, channels = group.channels(format, headDim);
        int perRow = group.perRow(format, numKvHeads, headDim);
        int rows = values.length / kvDim;
        if (rows * kvDim != values.length || rows % BLOCK_TOKENS != 0) {
            throw new IllegalArgumentException(values.length + " values are not whole 64-row blocks of " + kvDim);
        }
        byte[] codes = new byte[values.length];
        float[] scales = new float[rows / BLOCK_TOKENS * perRow];
        for (int s = 0; s < scales.length; s++) {
            int from = s / perRow * BLOCK_TOKENS * kvDim + s % perRow * channels;
            scales[s] = format.quantizeBlock(values, from, BLOCK_TOKENS, kvDim, channels, codes);
        }
        return new CodedBlocks(format, group, numKvHeads, headDim, codes, scales);
    }

    /** The values decode reads, [rows][numKvHeads headDim]: each code times its scale. */
    public float[] values() {
        int kvDim = numKvHeads * headDim, channels = group.channels(format, headDim);
        int perRow = group.perRow(format, numKvHeads, headDim);
        float[] values = new float[codes.length];
        for (int i = 0; i < values.length; i++) {
            int row = i / kvDim, column = i % kvDim;
            values[i] = format.decode(codes[i]) * scales[row / BLOCK_TOKENS * perRow + column / channels];
        }
        return values;
    }
}
