package io.minference.kernels.kvcache;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 8-bit cache's layout on the CPU ({@link CodedBlocks}, {@link KvScaleGroup}) for head sizes the GPU kernels take
 * and for those only the CPU takes (not multiples of 16: int8 keys fall back to one scale per head): each scale is
 * its 64 rows' and channels' amax over the format's largest code, and every value comes back within half a step of
 * its scale (int8) or 2^-4 of itself (e4m3). Random values (seed printed) whose channel groups differ in magnitude.
 */
class CodedBlocksTest {
    @ParameterizedTest(name = "{0} {1}, head size {2}")
    @CsvSource({"INT8, KEYS, 64, 16", "INT8, KEYS, 128, 16", "INT8, KEYS, 8, 8", "INT8, KEYS, 24, 24",
            "INT8, VALUES, 64, 64", "E4M3, KEYS, 64, 64", "E4M3, VALUES, 8, 8"})
    void eachScaleCoversItsChannelsAndEveryValueComesBack(KvCodes format, KvScaleGroup group, int headDim,
                                                          int channels) {
        assertEquals(channels, group.channels(format, headDim), "channels per scale");
        long seed = System.nanoTime();
        System.out.println("CodedBlocksTest seed " + seed);
        Random random = new Random(seed);
        int heads = 2, kvDim = heads * headDim, rows = 128;
        float[] values = new float[rows * kvDim];
        for (int i = 0; i < values.length; i++) {
            double magnitude = i % kvDim / 16 % 3 == 1 ? 30 : 1;
            values[i] = (float) (random.nextGaussian() * magnitude);
        }
        CodedBlocks blocks = CodedBlocks.quantize(format, group, heads, headDim, values);
        int perRow = group.perRow(format, heads, headDim);
        assertEquals(rows / 64 * perRow, blocks.scales().length, "scales");
        for (int s = 0; s < blocks.scales().length; s++) {
            int block = s / perRow, first = s % perRow * channels;
            float amax = 0;
            for (int r = 64 * block; r < 64 * block + 64; r++) {
                for (int c = first; c < first + channels; c++) amax = Math.max(amax, Math.abs(values[r * kvDim + c]));
            }
            assertEquals(amax / format.max(), blocks.scales()[s], 0f, "scale " + s + ", seed " + seed);
        }
        float[] decoded = blocks.values();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < kvDim; c++) {
                float x = values[r * kvDim + c], back = decoded[r * kvDim + c];
                float scale = blocks.scales()[r / 64 * perRow + c / channels];
                double bound = format == KvCodes.INT8 ? scale * 0.50002 : Math.abs(x) / 16 + scale * 0x1p-10;
                assertTrue(Math.abs(back - x) <= bound, "row " + r + ", column " + c + ": " + x + " came back as "
                        + back + ", seed " + seed);
            }
        }
    }
}
