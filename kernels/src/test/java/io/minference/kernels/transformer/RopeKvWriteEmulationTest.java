package io.minference.kernels.transformer;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvScaleGroup;
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
 * The decode step's RoPE + KV write into an 8-bit cache ({@link RopeKvWrite} with cache codes), its PTX run by
 * {@link io.minference.kernels.WarpEmulator} without a GPU, one launch a position from 0 to 131: each token's V lands
 * in the tail bit for bit, and when a token fills its block the block's codes and scales (keys per 16 channels for
 * int8) equal {@link CodedBlocks#quantize} of the tail's rows as the kernel left them, bit for bit; the partial third
 * block is not quantized. (The emulator's sine and cosine are Java's, so the rotated keys are not compared with the
 * CPU twin here: {@code CodedKvCacheGpuTest} does that on a GPU.) Random rows, channel groups of different
 * magnitudes, seed printed; codes and scales poisoned first.
 */
class RopeKvWriteEmulationTest {
    private static final int HEADS = 4, KV_HEADS = 2, CAPACITY = 3 * 64, POSITIONS = 2 * 64 + 4;
    private static final byte POISON = 0x5A;

    @ParameterizedTest(name = "{0} codes, head size {1}")
    @CsvSource({"INT8, 64", "INT8, 128", "E4M3, 64"})
    void filledBlocksAreQuantizedAsTheCpuTwinQuantizesTheTail(KvCodes format, int headDim) {
        long seed = System.nanoTime();
        System.out.println("RopeKvWriteEmulationTest seed " + seed);
        Random random = new Random(seed);
        RopeKvWrite kernel = new RopeKvWrite(HEADS, KV_HEADS, headDim, true, format);
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        int kvDim = KV_HEADS * headDim, rowWidth = kernel.rowWidth();
        KvScaleGroup[] groups = {KvScaleGroup.KEYS, KvScaleGroup.VALUES};
        String[] names = {"k", "v"};
        Map<String, Long> params = new HashMap<>();
        long qkv = gpu.allocate(2 * rowWidth), startAt = gpu.allocate(4);
        params.put("qkv", qkv);
        params.put("q", gpu.allocate(2 * kernel.qWidth()));
        params.put("kCache", gpu.upload(poison(2 * 64 * kvDim)));
        params.put("vCache", gpu.upload(poison(2 * 64 * kvDim)));
        params.put("freqs", gpu.upload(WarpEmulator.f32Bytes(RopeFrequencies.table(headDim, 500000f, null))));
        params.put("startAt", startAt);
        params.put("capacity", (long) CAPACITY);
        for (int kv = 0; kv < 2; kv++) {
            params.put(names[kv] + "Codes", gpu.upload(poison(CAPACITY * kvDim)));
            params.put(names[kv] + "Scales", gpu.upload(poison(4 * 3 * groups[kv].perRow(format, KV_HEADS, headDim))));
        }
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");

        for (int position = 0; position < POSITIONS; position++) {
            float[] row = new float[rowWidth];
            for (int c = 0; c < rowWidth; c++) {
                double magnitude = c % headDim / KvScaleGroup.KEY_CHANNELS % 3 == 1 ? 25 : 1;
                row[c] = BFloat16.round((float) (random.nextGaussian() * magnitude));
            }
            System.arraycopy(WarpEmulator.bf16Bytes(row), 0, gpu.bytes(qkv), 0, 2 * rowWidth);
            System.arraycopy(WarpEmulator.u32Bytes(position), 0, gpu.bytes(startAt), 0, 4);
            gpu.runBlock(params, 0, 0, 1, RopeKvWrite.BLOCK);

            byte[] vTail = gpu.bytes(params.get("vCache"));
            byte[] v = WarpEmulator.bf16Bytes(Arrays.copyOfRange(row, rowWidth - kvDim, rowWidth));
            int tailRow = position % 64;
            assertEquals(Arrays.toString(v), Arrays.toString(Arrays.copyOfRange(vTail, 2 * tailRow * kvDim,
                    2 * (tailRow + 1) * kvDim)), "V of position " + position + " in the tail; seed " + seed);
            if (tailRow != 63) continue;
            int block = position / 64;
            for (int kv = 0; kv < 2; kv++) {
                String what = format + " " + names[kv] + ", head size " + headDim + ", block " + block + ", seed "
                        + seed + ": ";
                float[] tail = bf16Floats(gpu.bytes(params.get(names[kv] + "Cache")));
                CodedBlocks want = CodedBlocks.quantize(format, groups[kv], KV_HEADS, headDim, tail);
                byte[] codes = gpu.bytes(params.get(names[kv] + "Codes"));
                for (int i = 0; i < want.codes().length; i++) {
                    int at = block * 64 * kvDim + i;
                    if (codes[at] != want.codes()[i]) {
                        assertEquals(want.codes()[i], codes[at], what + "code of row " + i / kvDim + ", column "
                                + i % kvDim);
                    }
                }
                ByteBuffer scales = ByteBuffer.wrap(gpu.bytes(params.get(names[kv] + "Scales")))
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (int s = 0; s < want.scales().length; s++) {
                    int at = block * want.scales().length + s;
                    assertEquals(Float.floatToRawIntBits(want.scales()[s]), scales.getInt(4 * at), what + "scale " + s);
                }
            }
        }
        for (int kv = 0; kv < 2; kv++) {
            ByteBuffer scales = ByteBuffer.wrap(gpu.bytes(params.get(names[kv] + "Scales")));
            int perRow = groups[kv].perRow(format, KV_HEADS, headDim);
            for (int at = 2 * perRow; at < 3 * perRow; at++) {
                assertEquals(0x5A5A5A5A, scales.getInt(4 * at),
                        "the partial third block is not quantized; seed " + seed);
            }
            byte[] codes = gpu.bytes(params.get(names[kv] + "Codes"));
            for (int i = 2 * 64 * kvDim; i < codes.length; i++) {
                assertEquals(POISON, codes[i], "codes of the partial third block; seed " + seed);
            }
        }
    }

    private static byte[] poison(int bytes) {
        byte[] b = new byte[bytes];
        Arrays.fill(b, POISON);
        return b;
    }

    private static float[] bf16Floats(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.length / 2];
        for (int i = 0; i < values.length; i++) values[i] = BFloat16.toFloat(b.getShort());
        return values;
    }
}
