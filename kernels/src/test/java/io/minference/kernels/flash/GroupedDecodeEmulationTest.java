package io.minference.kernels.flash;

import io.minference.kernels.DecodeReference;
import io.minference.kernels.WarpEmulator;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvScaleGroup;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The grouped split-K decode's PTX run by {@link WarpEmulator}, without a GPU, for every key-loop layout
 * ({@link GroupedFlashDecode.Loop}) over an int8, an e4m3 and a bf16 cache (sm_80's PTX; and sm_90a's for e4m3, which
 * converts the codes by instruction): the partials it writes, merged as
 * {@link FlashDecodeCombine} merges them, against float64 attention over the values the cache holds (codes times
 * their block scales, the partial block from the bf16 tail), and {@link FlashDecodeCombine}'s PTX merges the same
 * partials into its bf16 output within a rounding of that merge. A small cache (2 KV heads, 5 full blocks and a partial
 * one, 8 splits of unaligned length) so that every path runs: whole and cut steps, the tail, empty row groups, the
 * merge of row groups and the stores. Random inputs, seed printed; the partials poisoned with NaN first.
 */
class GroupedDecodeEmulationTest {
    private static final int KV_HEADS = 2;
    private static final int SPLIT_BLOCKS = 2;

    static Stream<Arguments> layouts() {
        GroupedFlashDecode.Loop[] loops = {
                new GroupedFlashDecode.Loop(4, false, false),
                new GroupedFlashDecode.Loop(4, false, false, true, 8, false, false),
                new GroupedFlashDecode.Loop(4, false, false, true, 8, true, false),
                new GroupedFlashDecode.Loop(2, false, false, true, 16, false, false),
                new GroupedFlashDecode.Loop(4, false, false, true, 16, true, false),
                new GroupedFlashDecode.Loop(2, true, false, true, 16, true, true),
                new GroupedFlashDecode.Loop(4, false, false, true, 8, false, true),
                new GroupedFlashDecode.Loop(8, true, false, true, 8, true, true)};
        Stream.Builder<Arguments> cases = Stream.builder();
        for (GroupedFlashDecode.Loop loop : loops) {
            for (KvCodes codes : new KvCodes[] {KvCodes.INT8, KvCodes.E4M3, null}) {
                cases.add(Arguments.of(128, 4, codes, loop, PtxTarget.SM_80));
            }
            cases.add(Arguments.of(64, 4, KvCodes.INT8, loop, PtxTarget.SM_80));
            cases.add(Arguments.of(128, 8, KvCodes.E4M3, loop, PtxTarget.SM_80));
            // sm_90a converts e4m3 by cvt.rn.f16x2.e4m3x2 where the loop asks for the instruction
            GroupedFlashDecode.Loop converted = new GroupedFlashDecode.Loop(loop.unroll(), loop.prefetch(), true,
                    loop.permute(), loop.laneValues(), loop.headScores(), loop.lazyRescale());
            cases.add(Arguments.of(128, 4, KvCodes.E4M3, converted, PtxTarget.SM_90A));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "d {0}, {1} query heads per KV head, {2}, {3}, {4}")
    @MethodSource("layouts")
    void partialsMergeToFloat64Attention(int headDim, int group, KvCodes codes, GroupedFlashDecode.Loop loop,
                                         PtxTarget target) {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int heads = KV_HEADS * group, kvDim = KV_HEADS * headDim, length = 5 * 64 + 37, capacity = length + 30;
        int splits = SPLIT_BLOCKS * GroupedFlashDecode.SPLITS_PER_BLOCK;
        GroupedFlashDecode kernel = new GroupedFlashDecode(headDim, group, true, codes, loop);
        String ptx = kernel.emit(target).ptx();
        assertEquals(target == PtxTarget.SM_90A, ptx.contains("cvt.rn.f16x2.e4m3x2"), "the conversion path");
        WarpEmulator gpu = new WarpEmulator(ptx);

        float[] q = gaussians(random, heads * headDim, 1.5);
        float[] k = gaussians(random, capacity * kvDim, 1.0), v = gaussians(random, capacity * kvDim, 1.0);
        // blocks of different magnitudes, so that the block scales matter, and key channels too (a group of 16 in
        // three 6 times larger), so that a lane that took another group's key scale fails; keys far larger in block
        // 3 and late in the tail, so that running maxima jump by many powers of 2 in the middle of splits (a lazy
        // rescale's case)
        for (int t = 0; t < capacity; t++) {
            float factor = (t / 64) % 3 == 1 ? 40f : 1f;
            float keyFactor = t / 64 == 3 ? 8f : t >= length - 12 ? 4f : 1f;
            for (int j = 0; j < kvDim; j++) {
                float channelFactor = j % headDim / KvScaleGroup.KEY_CHANNELS % 3 == 1 ? 6f : 1f;
                v[t * kvDim + j] = BFloat16.round(v[t * kvDim + j] * factor);
                k[t * kvDim + j] = BFloat16.round(k[t * kvDim + j] * keyFactor * channelFactor);
            }
        }
        Map<String, Long> params = new HashMap<>();
        params.put("q", gpu.upload(WarpEmulator.bf16Bytes(q)));
        float[] kSeen = k.clone(), vSeen = v.clone();
        if (codes == null) {
            params.put("k", gpu.upload(WarpEmulator.bf16Bytes(k)));
            params.put("v", gpu.upload(WarpEmulator.bf16Bytes(v)));
        } else {
            int blocks = length / 64;
            CodedBlocks kBlocks = CodedBlocks.quantize(codes, KvScaleGroup.KEYS, KV_HEADS, headDim,
                    Arrays.copyOf(k, blocks * 64 * kvDim));
            CodedBlocks vBlocks = CodedBlocks.quantize(codes, KvScaleGroup.VALUES, KV_HEADS, headDim,
                    Arrays.copyOf(v, blocks * 64 * kvDim));
            System.arraycopy(kBlocks.values(), 0, kSeen, 0, blocks * 64 * kvDim);
            System.arraycopy(vBlocks.values(), 0, vSeen, 0, blocks * 64 * kvDim);
            // the cache's capacity in codes and scales: its rows past the full blocks are never read
            byte[] kCodes = Arrays.copyOf(kBlocks.codes(), capacity * kvDim);
            byte[] vCodes = Arrays.copyOf(vBlocks.codes(), capacity * kvDim);
            int scaleBlocks = capacity / 64 + 1;
            float[] kScales = Arrays.copyOf(kBlocks.scales(),
                    scaleBlocks * KvScaleGroup.KEYS.perRow(codes, KV_HEADS, headDim));
            float[] vScales = Arrays.copyOf(vBlocks.scales(), scaleBlocks * KV_HEADS);
            float[] kTail = new float[64 * kvDim], vTail = new float[64 * kvDim];
            for (int t = blocks * 64; t < length; t++) {
                System.arraycopy(k, t * kvDim, kTail, (t % 64) * kvDim, kvDim);
                System.arraycopy(v, t * kvDim, vTail, (t % 64) * kvDim, kvDim);
            }
            params.put("k", gpu.upload(kCodes));
            params.put("v", gpu.upload(vCodes));
            params.put("kScales", gpu.upload(WarpEmulator.f32Bytes(kScales)));
            params.put("vScales", gpu.upload(WarpEmulator.f32Bytes(vScales)));
            params.put("kTail", gpu.upload(WarpEmulator.bf16Bytes(kTail)));
            params.put("vTail", gpu.upload(WarpEmulator.bf16Bytes(vTail)));
        }
        float[] poison = new float[heads * splits * (headDim + 2)];
        Arrays.fill(poison, Float.NaN);
        long partials = gpu.upload(WarpEmulator.f32Bytes(poison));
        params.put("partials", partials);
        params.put("lengthAt", gpu.upload(WarpEmulator.u32Bytes(length)));
        params.put("numHeads", (long) heads);
        params.put("numKvHeads", (long) KV_HEADS);
        params.put("scale", (long) Float.floatToRawIntBits(FlashAttention.log2Scale(headDim)));
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the kernel's parameters");

        for (int x = 0; x < KV_HEADS; x++) {
            for (int y = 0; y < SPLIT_BLOCKS; y++) gpu.runBlock(params, x, y, SPLIT_BLOCKS, GroupedFlashDecode.THREADS);
        }

        ByteBuffer out = ByteBuffer.wrap(gpu.bytes(partials)).order(ByteOrder.LITTLE_ENDIAN);
        int statsFrom = heads * splits * headDim * 4;
        ByteBuffer combined = combine(gpu, partials, heads, splits, headDim);
        for (int h = 0; h < heads; h++) {
            double[] want = DecodeReference.attend(q, kSeen, vSeen, h, h / group, headDim, kvDim, length);
            double top = Double.NEGATIVE_INFINITY;
            for (int s = 0; s < splits; s++) top = Math.max(top, out.getFloat(statsFrom + (h * splits + s) * 8));
            double total = 0;
            double[] got = new double[headDim];
            for (int s = 0; s < splits; s++) {
                int partial = h * splits + s;
                double weight = Math.pow(2, out.getFloat(statsFrom + partial * 8) - top);
                total += weight * out.getFloat(statsFrom + partial * 8 + 4);
                for (int i = 0; i < headDim; i++) got[i] += weight * out.getFloat((partial * headDim + i) * 4);
            }
            for (int i = 0; i < headDim; i++) {
                double value = got[i] / total;
                if (!(Math.abs(value - want[i]) <= 1e-4 * Math.abs(want[i]) + 2e-5 * 40)) {
                    fail(kernel.entryName() + " for " + target + ": head " + h + ", element " + i + ": " + value + ", float64 "
                            + want[i] + "; seed " + seed);
                }
                // the combine kernel's bf16 output: the merge above, within a bf16 rounding and f32 sums
                double written = BFloat16.toFloat(combined.getShort(2 * (h * headDim + i)));
                if (!(Math.abs(written - value) <= 0x1p-8 * Math.abs(value) + 1e-5)) {
                    fail("the combine after " + kernel.entryName() + ": head " + h + ", element " + i + ": " + written
                            + ", merged " + value + "; seed " + seed);
                }
            }
        }
    }

    /** Runs {@link FlashDecodeCombine}'s PTX over the emulated partials; returns its bf16 output [heads][d]. */
    private static ByteBuffer combine(WarpEmulator decode, long partials, int heads, int splits, int headDim) {
        FlashDecodeCombine kernel = new FlashDecodeCombine(headDim, 4);
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_80).ptx());
        Map<String, Long> params = new HashMap<>();
        params.put("partials", gpu.upload(decode.bytes(partials)));
        byte[] poison = new byte[2 * heads * headDim];
        Arrays.fill(poison, (byte) 0xFF);
        long out = gpu.upload(poison);
        params.put("o", out);
        params.put("numHeads", (long) heads);
        params.put("splits", (long) splits);
        assertEquals(params.keySet(), new HashSet<>(gpu.params()), "the combine's parameters");
        for (int h = 0; h < heads; h++) gpu.runBlock(params, h, 0, 1, kernel.threads());
        return ByteBuffer.wrap(gpu.bytes(out)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] gaussians(Random random, int n, double sigma) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = BFloat16.round((float) (sigma * random.nextGaussian()));
        return values;
    }
}
