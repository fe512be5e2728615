package io.minference.kernels.kvcache;

import io.minference.kernels.WarpEmulator;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link KvQuantize}'s PTX run by {@link WarpEmulator} (every CTA of the grid, its four warps meeting at the
 * barriers through shared memory), without a GPU, against its CPU twin {@link CodedBlocks#quantize}: the codes and
 * the scales of every full block bit for bit, for K (a scale per 16 channels) and V (per head), the partial block's
 * rows copied to the tail, and nothing written past them (the outputs are poisoned first). The inputs are random
 * (seed printed), their channel groups of different magnitudes, and one group of one block all zeros (scale 0).
 */
class KvQuantizeEmulationTest {
    private static final int KV_HEADS = 2;
    private static final byte POISON = 0x5A;

    @ParameterizedTest(name = "{0} codes, head size {1}")
    @CsvSource({"INT8, 64", "INT8, 128", "E4M3, 64", "E4M3, 128"})
    void codesAndScalesEqualTheCpuTwins(KvCodes format, int headDim) {
        long seed = System.nanoTime();
        System.out.println("KvQuantizeEmulationTest seed " + seed);
        Random random = new Random(seed);
        int kvDim = KV_HEADS * headDim, fullBlocks = 3, length = fullBlocks * 64 + 21;
        float[][] prompt = new float[2][length * kvDim];
        for (float[] values : prompt) {
            for (int t = 0; t < length; t++) {
                for (int c = 0; c < kvDim; c++) {
                    double magnitude = c / KvScaleGroup.KEY_CHANNELS % 3 == 1 ? 20 : 1;
                    values[t * kvDim + c] = BFloat16.round((float) (random.nextGaussian() * magnitude));
                }
            }
        }
        // block 1, head 1, channels 16..31: zeros, a key scale of 0
        for (int t = 64; t < 128; t++) Arrays.fill(prompt[0], t * kvDim + headDim + 16, t * kvDim + headDim + 32, 0f);

        WarpEmulator gpu = new WarpEmulator(new KvQuantize(KV_HEADS, headDim, format).emit(PtxTarget.SM_80).ptx());
        KvScaleGroup[] groups = {KvScaleGroup.KEYS, KvScaleGroup.VALUES};
        String[] names = {"k", "v"};
        int scaleBlocks = fullBlocks + 1;
        Map<String, Long> params = new HashMap<>();
        for (int kv = 0; kv < 2; kv++) {
            params.put(names[kv] + "Prompt", gpu.upload(WarpEmulator.bf16Bytes(prompt[kv])));
            params.put(names[kv] + "Codes", gpu.upload(poison((length + 11) * kvDim)));
            int scales = scaleBlocks * groups[kv].perRow(format, KV_HEADS, headDim);
            params.put(names[kv] + "Scales", gpu.upload(poison(4 * scales)));
            params.put(names[kv] + "Tail", gpu.upload(poison(2 * 64 * kvDim)));
        }
        params.put("length", (long) length);
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");
        for (int block = 0; block < fullBlocks + 1; block++) {
            for (int head = 0; head < KV_HEADS; head++) gpu.runBlock(params, block, head, KV_HEADS, KvQuantize.THREADS);
        }

        for (int kv = 0; kv < 2; kv++) {
            String what = format + " " + names[kv] + ", head size " + headDim + ", seed " + seed + ": ";
            CodedBlocks want = CodedBlocks.quantize(format, groups[kv], KV_HEADS, headDim,
                    Arrays.copyOf(prompt[kv], fullBlocks * 64 * kvDim));
            byte[] codes = gpu.bytes(params.get(names[kv] + "Codes"));
            for (int i = 0; i < codes.length; i++) {
                byte expected = i < want.codes().length ? want.codes()[i] : POISON;
                if (codes[i] != expected) {
                    assertEquals(expected, codes[i], what + "code of row " + i / kvDim + ", column " + i % kvDim);
                }
            }
            ByteBuffer scales = ByteBuffer.wrap(gpu.bytes(params.get(names[kv] + "Scales")))
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (int s = 0; s < want.scales().length; s++) {
                assertEquals(Float.floatToRawIntBits(want.scales()[s]), scales.getInt(4 * s), what + "scale " + s);
            }
            for (int s = want.scales().length; s < scales.capacity() / 4; s++) {
                assertEquals(poisonWord(), scales.getInt(4 * s), what + "scale " + s + " of the partial block");
            }
            byte[] tail = gpu.bytes(params.get(names[kv] + "Tail"));
            byte[] partial = WarpEmulator.bf16Bytes(Arrays.copyOfRange(prompt[kv], fullBlocks * 64 * kvDim,
                    length * kvDim));
            for (int i = 0; i < tail.length; i++) {
                byte expected = i < partial.length ? partial[i] : POISON;
                if (tail[i] != expected) assertEquals(expected, tail[i], what + "tail byte " + i);
            }
        }
        if (format == KvCodes.INT8) {
            CodedBlocks keys = CodedBlocks.quantize(format, KvScaleGroup.KEYS, KV_HEADS, headDim,
                    Arrays.copyOf(prompt[0], fullBlocks * 64 * kvDim));
            int zeroGroup = KvScaleGroup.KEYS.perRow(format, KV_HEADS, headDim) + headDim / 16 + 1;
            assertEquals(0f, keys.scales()[zeroGroup], "the all-zero group's scale");
        }
    }

    private static byte[] poison(int bytes) {
        byte[] b = new byte[bytes];
        Arrays.fill(b, POISON);
        return b;
    }

    private static int poisonWord() {
        return ByteBuffer.wrap(poison(4)).getInt();
    }
}
