package io.minference.kernels.transformer;

import io.minference.kernels.DecodeReference;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.cpu.Rope;
import io.minference.kernels.flash.DecodeTuning;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.CodedKvLayer;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.kernels.kvcache.KvScaleGroup;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.DeviceTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The 8-bit KV cache's kernels on a real GPU against the CPU reference {@link CodedBlocks#quantize}, for both code
 * formats (e4m3 and int8): the codes and scales that {@link KvQuantize} and the 8-bit mode of {@link RopeKvWrite}
 * write equal the reference's bit for bit (from the same bf16 values), the tail holds the partial block, and the
 * 8-bit split-K decode matches float64 attention over the dequantized cache under every decode tuning (e4m3 by the
 * conversion instruction on sm_90a, and by integer operations). Fresh random inputs with blocks of very different
 * magnitudes (zero, subnormal-range, large); outputs poisoned; the seed is in every failure message.
 */
@Tag("gpu")
class CodedKvCacheGpuTest {
    private static DeviceFixture gpu;

    @BeforeAll
    static void open() {
        gpu = DeviceFixture.openOrSkip();
        System.out.println("8-bit KV cache kernels on " + gpu.backend.device() + ", " + gpu.context());
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    /** bf16 K or V rows [length][kvDim] whose 64-row blocks have magnitudes from 0 to about 1e3, per head. */
    private static float[] blockyValues(int length, int kvHeads, int headDim) {
        int kvDim = kvHeads * headDim;
        float[] values = new float[length * kvDim];
        for (int t = 0; t < length; t++) {
            for (int h = 0; h < kvHeads; h++) {
                int kind = Math.floorMod((t / 64) * 7 + h * 3, 5);
                double magnitude = switch (kind) {
                    case 0 -> 0;
                    case 1 -> 1e-3;
                    case 2 -> 1;
                    case 3 -> 30;
                    default -> 900;
                };
                for (int i = 0; i < headDim; i++) {
                    values[t * kvDim + h * headDim + i] = BFloat16.round((float) (gpu.random.nextGaussian() * magnitude));
                }
            }
        }
        return values;
    }

    private static byte[] downloadBytes(DeviceTensor t) {
        gpu.stream().synchronize();
        byte[] bytes = new byte[Math.toIntExact(t.elementCount())];
        t.buffer().copyToHost(MemorySegment.ofArray(bytes));
        return bytes;
    }

    private static void poison(CodedKvLayer cache) {
        for (DeviceTensor t : new DeviceTensor[] {cache.keyCodes(), cache.valueCodes(), cache.keyScales(),
                cache.valueScales(), cache.keyTail(), cache.valueTail()}) {
            t.buffer().fillInts(DeviceFixture.POISON);
        }
    }

    /**
     * Checks blocks [firstBlock, firstBlock + blocks) of codes and scales, bit for bit, against the reference
     * quantization of {@code values} (bf16 [blocks 64][kvDim], the first block's rows first).
     */
    private static void assertBlocksEqualReference(float[] values, int firstBlock, int blocks, CodedKvLayer cache,
                                                   boolean keys, String what) {
        int kvHeads = cache.numKvHeads(), headDim = cache.headDim(), kvDim = kvHeads * headDim;
        KvScaleGroup group = keys ? KvScaleGroup.KEYS : KvScaleGroup.VALUES;
        byte[] codes = downloadBytes(keys ? cache.keyCodes() : cache.valueCodes());
        float[] scales = gpu.downloadF32(keys ? cache.keyScales() : cache.valueScales());
        CodedBlocks expected = CodedBlocks.quantize(cache.codes(), group, kvHeads, headDim,
                Arrays.copyOf(values, blocks * 64 * kvDim));
        int perRow = group.perRow(cache.codes(), kvHeads, headDim);
        for (int s = 0; s < expected.scales().length; s++) {
            int at = firstBlock * perRow + s;
            assertEquals(Float.floatToRawIntBits(expected.scales()[s]), Float.floatToRawIntBits(scales[at]),
                    () -> what + " " + cache.codes().label() + " scale " + at % perRow + " of block " + at / perRow
                            + "; " + gpu.context());
        }
        for (int i = 0; i < expected.codes().length; i++) {
            int deviceAt = firstBlock * 64 * kvDim + i;
            if (expected.codes()[i] != codes[deviceAt]) {
                fail(what + " " + cache.codes().label() + " code at position " + deviceAt / kvDim + ", column "
                        + i % kvDim + ": device " + (codes[deviceAt] & 0xFF) + ", reference "
                        + (expected.codes()[i] & 0xFF) + " for " + values[i] + "; " + gpu.context());
            }
        }
    }

    @ParameterizedTest(name = "{0} KV heads of {1}, {2} positions, {3}")
    @CsvSource({"8, 128, 1000, INT8", "2, 64, 4096, INT8", "2, 64, 63, INT8", "8, 128, 64, INT8",
            "8, 128, 1000, E4M3", "2, 64, 4096, E4M3", "2, 64, 63, E4M3", "8, 128, 64, E4M3"})
    void quantizeWritesTheReferenceBytesAndTheTail(int kvHeads, int headDim, int length, KvCodes codes) {
        int kvDim = kvHeads * headDim;
        float[] k = blockyValues(length, kvHeads, headDim), v = blockyValues(length, kvHeads, headDim);
        try (DeviceTensor dk = gpu.bf16(k, length, kvDim); DeviceTensor dv = gpu.bf16(v, length, kvDim);
             CodedKvLayer cache = new CodedKvLayer(gpu.backend.context(), codes, length + 100, kvHeads, headDim)) {
            poison(cache);
            new KvQuantize(kvHeads, headDim, codes).launch(gpu.stream(), dk, dv, cache, length);
            int full = length / 64;
            assertBlocksEqualReference(k, 0, full, cache, true, "K");
            assertBlocksEqualReference(v, 0, full, cache, false, "V");
            short[] kTail = gpu.downloadBits(cache.keyTail()), vTail = gpu.downloadBits(cache.valueTail());
            for (int t = full * 64; t < length; t++) {
                for (int j = 0; j < kvDim; j++) {
                    int row = t % 64;
                    assertEquals(BFloat16.fromFloat(k[t * kvDim + j]), kTail[row * kvDim + j], "K tail; " + gpu.context());
                    assertEquals(BFloat16.fromFloat(v[t * kvDim + j]), vTail[row * kvDim + j], "V tail; " + gpu.context());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} heads, {1} KV heads of {2}, {3}")
    @CsvSource({"32, 8, 128, INT8", "6, 2, 64, INT8", "32, 8, 128, E4M3", "6, 2, 64, E4M3"})
    void ropeWriteQuantizesEachBlockAsItFills(int heads, int kvHeads, int headDim, KvCodes codes) {
        RopeKvWrite kernel = new RopeKvWrite(heads, kvHeads, headDim).withStartOnDevice().withCacheCodes(codes);
        RopeKvWrite bf16Shape = new RopeKvWrite(heads, kvHeads, headDim);
        int kvDim = kernel.kvWidth(), steps = 128 + 17;
        Rope rope = new Rope(headDim, 500000f, null);
        try (DeviceTensor freqs = gpu.f32(RopeFrequencies.table(headDim, 500000f, null));
             DeviceTensor q = gpu.poisoned(DType.BF16, kernel.qWidth(), DeviceFixture.BF16_POISON);
             CodedKvLayer cache = new CodedKvLayer(gpu.backend.context(), codes, 300, kvHeads, headDim);
             Tensor hq = Tensor.allocate(DType.BF16, 1, kernel.qWidth());
             Tensor hk = Tensor.allocate(DType.BF16, steps, kvDim);
             Tensor hv = Tensor.allocate(DType.BF16, steps, kvDim);
             Tensor hQkv = Tensor.allocate(DType.BF16, 1, kernel.rowWidth())) {
            poison(cache);
            float[] vWritten = new float[64 * kvDim];
            for (int p = 0; p < steps; p++) {
                float[] qkv = gpu.bf16Gaussians(kernel.rowWidth(), p < 64 ? 0.01 : 20);
                try (DeviceTensor dQkv = gpu.bf16(qkv); DeviceTensor startAt = gpu.i32(new int[] {p})) {
                    kernel.launch(gpu.stream(), dQkv, q, cache, freqs, startAt);
                    gpu.stream().synchronize();
                }
                for (int i = 0; i < qkv.length; i++) Bf16Host.set(hQkv, i, qkv[i]);
                new CpuRopeKvWrite(bf16Shape, rope).apply(hQkv, 1, p, hq, hk, hv);
                short[] kTail = gpu.downloadBits(cache.keyTail()), vTail = gpu.downloadBits(cache.valueTail());
                int row = p % 64;
                // RoPE turns a pair (a, b) into a·cos − b·sin: the device's and the twin's f32 trigonometry differ by
                // a few 1e-7 of |a| + |b|, which is more than a bf16 step where the result cancels far below its
                // inputs (an H200 run found -0.0016937 against -0.0017090 from inputs of size ~20). So each element
                // is allowed one bf16 step of its own plus 4e-6 of the largest input of its head.
                double[] headMax = new double[kvHeads];
                for (int j = 0; j < kvDim; j++) {
                    headMax[j / headDim] = Math.max(headMax[j / headDim], Math.abs(qkv[kernel.qWidth() + j]));
                }
                for (int j = 0; j < kvDim; j++) {
                    float want = Bf16Host.get(hk, (long) p * kvDim + j), got = BFloat16.toFloat(kTail[row * kvDim + j]);
                    if (Math.abs(want - got) > Math.ulp(Math.abs(want)) * 65536.0 + 4e-6 * headMax[j / headDim]) {
                        fail("K tail at position " + p + ", element " + j + ": " + got + ", twin " + want + "; "
                                + gpu.context());
                    }
                    float value = Bf16Host.get(hv, (long) p * kvDim + j);
                    assertEquals(BFloat16.fromFloat(value), vTail[row * kvDim + j], "V tail; " + gpu.context());
                    vWritten[row * kvDim + j] = value;
                }
                if (row == 63 && p < 128) {
                    float[] tail = new float[64 * kvDim];
                    for (int i = 0; i < tail.length; i++) tail[i] = BFloat16.toFloat(kTail[i]);
                    assertBlocksEqualReference(tail, p / 64, 1, cache, true, "K");
                    assertBlocksEqualReference(vWritten.clone(), p / 64, 1, cache, false, "V");
                }
            }
            float[] scales = gpu.downloadF32(cache.keyScales());
            int perRow = KvScaleGroup.KEYS.perRow(cache.codes(), kvHeads, headDim);
            for (int at = 2 * perRow; at < 3 * perRow; at++) {
                assertEquals(DeviceFixture.POISON, Float.floatToRawIntBits(scales[at]),
                        "the partial third block must not be quantized; " + gpu.context());
            }
        }
    }

    /**
     * Every decode tuning of {@link DecodeTuning} computes the same function, for both code formats: {@code default},
     * and {@code integer} (e4m3 codes decoded by integer operations, also on sm_90a, two loads in flight, the one-warp
     * combine, few splits), {@code prefetch} (a step's loads ahead) and {@code wide} (eight loads in flight, 32-warp
     * combine, many splits).
     */
    static Stream<Arguments> decodeCases() {
        Object[][] rows = {{32, 8, 128, 1000, "default"}, {32, 8, 128, 64, "default"}, {6, 2, 64, 4100, "default"},
                {6, 2, 64, 1, "default"}, {6, 2, 64, 40000, "default"}, {32, 8, 128, 70000, "default"},
                {32, 8, 128, 70000, "integer"}, {32, 8, 128, 1000, "integer"}, {32, 8, 128, 70000, "wide"},
                {6, 2, 64, 4100, "wide"}, {6, 2, 64, 4100, "integer"}, {32, 8, 128, 70000, "prefetch"},
                {32, 8, 128, 100, "prefetch"}, {6, 2, 64, 4100, "prefetch"}};
        return withBothFormats(rows);
    }

    /**
     * The key-loop layouts that decode8-ab.sh compares, for both code formats: {@code permute} (the permute recipe),
     * {@code heads} (permute and head scores), {@code v16} (16 elements a lane, two loads), {@code v16heads} (both,
     * four loads; e4m3 decoded by integer operations, so that sm_90a runs the permute recipe too) and {@code heads8}
     * (head scores, eight loads, prefetch), {@code lazy} and {@code lazylanes} (the accumulators rescaled lazily,
     * with 16 elements and head scores, or the permute recipe alone). Shapes: LLaMA-3-8B's (4 query heads per KV head, d 128), 8 and 1 query
     * heads (where the knobs that need fewer heads or more fall back; the kernel names say how), and d 64 with 3
     * and 4. Lengths of a few thousand keys (several splits, several steps each) keep the float64 reference quick.
     */
    static Stream<Arguments> layoutCases() {
        Object[][] rows = {{32, 8, 128, 20000, "permute"}, {32, 8, 128, 1000, "permute"}, {32, 8, 128, 9000, "heads"},
                {32, 8, 128, 100, "heads"}, {32, 8, 128, 9000, "v16"}, {32, 8, 128, 130, "v16"},
                {32, 8, 128, 20000, "v16heads"}, {32, 8, 128, 1000, "v16heads"}, {32, 8, 128, 1, "v16heads"},
                {32, 8, 128, 9000, "heads8"}, {64, 8, 128, 3000, "heads"}, {64, 8, 128, 3000, "v16heads"},
                {8, 8, 128, 3000, "v16heads"}, {6, 2, 64, 4100, "v16heads"}, {8, 2, 64, 4100, "v16heads"},
                {8, 2, 64, 4100, "heads8"}, {32, 8, 128, 20000, "lazy"}, {32, 8, 128, 100, "lazy"},
                {32, 8, 128, 9000, "lazylanes"}, {6, 2, 64, 4100, "lazylanes"}};
        return withBothFormats(rows);
    }

    private static Stream<Arguments> withBothFormats(Object[][] rows) {
        return Stream.of(KvCodes.values()).flatMap(codes -> Stream.of(rows).map(row -> Arguments.of(row[0], row[1],
                row[2], row[3], row[4], codes)));
    }

    @ParameterizedTest(name = "{0} heads, {1} KV heads of {2}, length {3}, {4} tuning, {5}")
    @MethodSource("decodeCases")
    void codedDecodeMatchesFloat64OverTheDequantizedCache(int heads, int kvHeads, int headDim, int length,
                                                          String tuningName, KvCodes codes) {
        checkCodedDecode(heads, kvHeads, headDim, length, tuningName, codes);
    }

    @ParameterizedTest(name = "{0} heads, {1} KV heads of {2}, length {3}, {4} layout, {5}")
    @MethodSource("layoutCases")
    void everyLayoutMatchesFloat64OverTheDequantizedCache(int heads, int kvHeads, int headDim, int length,
                                                          String layoutName, KvCodes codes) {
        checkCodedDecode(heads, kvHeads, headDim, length, layoutName, codes);
    }

    private static void checkCodedDecode(int heads, int kvHeads, int headDim, int length, String tuningName,
                                  KvCodes codes) {
        DecodeTuning tuning = switch (tuningName) {
            case "default" -> DecodeTuning.DEFAULT;
            case "integer" -> new DecodeTuning(1, 2, 2, false, false);
            case "prefetch" -> new DecodeTuning(8, 3, 4, true, true);
            case "wide" -> new DecodeTuning(32, 16, 8, false, true);
            case "permute" -> DecodeTuning.DEFAULT.withLayout(true, 8, false);
            case "heads" -> DecodeTuning.DEFAULT.withLayout(true, 8, true);
            case "v16" -> DecodeTuning.DEFAULT.withUnroll(2).withLayout(true, 16, false);
            case "v16heads" -> new DecodeTuning(8, 6, 4, false, false, true, 16, true, false);
            case "heads8" -> new DecodeTuning(8, 8, 8, true, true, true, 8, true, false);
            case "lazy" -> DecodeTuning.DEFAULT.withLayout(true, 16, true).withLazyRescale(true);
            case "lazylanes" -> DecodeTuning.DEFAULT.withLayout(true, 8, false).withLazyRescale(true);
            default -> throw new IllegalArgumentException(tuningName);
        };
        int kvDim = kvHeads * headDim, group = heads / kvHeads;
        AttentionShape shape = new AttentionShape(heads, kvHeads, headDim);
        float[] k = gpu.bf16Gaussians(length * kvDim, 1), v = gpu.bf16Gaussians(length * kvDim, 1);
        float[] q = gpu.bf16Gaussians(heads * headDim, 1);
        int capacity = length + 70;
        try (DeviceTensor dk = gpu.bf16(k, length, kvDim); DeviceTensor dv = gpu.bf16(v, length, kvDim);
             DeviceTensor dq = gpu.bf16(q, heads, headDim);
             DeviceTensor out = gpu.poisoned(DType.BF16, (long) heads * headDim, DeviceFixture.BF16_POISON);
             DeviceTensor lengthAt = gpu.i32(new int[] {length});
             CodedKvLayer cache = new CodedKvLayer(gpu.backend.context(), codes, capacity, kvHeads, headDim);
             FlashAttention flash = new FlashAttention(gpu.backend.context(), shape, PrefillKernel.configured(),
                     tuning)) {
            poison(cache);
            new KvQuantize(kvHeads, headDim, codes).launch(gpu.stream(), dk, dv, cache, length);
            flash.reserveDecode(capacity);
            flash.decode(gpu.stream(), dq, cache, out, lengthAt);
            float[] got = gpu.downloadBf16(out);
            float[] kd = dequantized(codes, KvScaleGroup.KEYS, k, length, kvHeads, headDim);
            float[] vd = dequantized(codes, KvScaleGroup.VALUES, v, length, kvHeads, headDim);
            for (int h = 0; h < heads; h++) {
                double[] reference = DecodeReference.attend(q, kd, vd, h, h / group, headDim, kvDim, length);
                for (int i = 0; i < headDim; i++) {
                    double want = reference[i];
                    double error = Math.abs(got[h * headDim + i] - want);
                    // bf16 rounding of the output, plus f32 accumulation and ex2.approx
                    if (!(error <= Math.abs(want) * 0x1p-8 + 2e-3)) {
                        fail("head " + h + ", element " + i + ": " + got[h * headDim + i] + ", float64 " + want
                                + "; " + codes + ", " + tuning + "; " + gpu.context());
                    }
                }
            }
        }
    }

    /** The values decode sees: full blocks through the reference codes and scales, the partial block as it is. */
    private static float[] dequantized(KvCodes format, KvScaleGroup group, float[] values, int length, int kvHeads,
                                       int headDim) {
        int kvDim = kvHeads * headDim, quantized = length / 64 * 64;
        float[] out = values.clone();
        CodedBlocks blocks = CodedBlocks.quantize(format, group, kvHeads, headDim,
                Arrays.copyOf(values, quantized * kvDim));
        System.arraycopy(blocks.values(), 0, out, 0, quantized * kvDim);
        return out;
    }
}
