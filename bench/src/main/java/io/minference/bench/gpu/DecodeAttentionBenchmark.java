package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.DecodeTuning;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.kernels.kvcache.CodedKvLayer;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DeviceTensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One layer's decode attention as a graph-captured step runs it (length read from the device, splits fixed by the
 * capacity, then the combine) at LLaMA-3-8B's head layout (32 heads, 8 KV heads, d = 128), over a bf16 cache and
 * 8-bit caches with int8 and with e4m3 codes ({@code --kv-cache int8}, {@code fp8}) of {@code length} positions, under
 * several {@link DecodeTuning}s in one call: the default, then each with one knob changed. Reports microseconds per
 * layer and the GB/s of K and V read (bytes of codes, scales and the tail for the 8-bit caches, the same for both)
 * beside the floor at {@value #BYTES_PER_SECOND_LABEL}. Inputs are random bf16 (a block of random values repeated), the
 * 8-bit caches quantized from them by {@link KvQuantize}; medians of event-timed repeats of {@link #LAUNCHES}
 * back-to-back decodes, the tunings run in a rotating order per length.
 */
public final class DecodeAttentionBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    private static final double BYTES_PER_SECOND = 4.8e12;
    private static final String BYTES_PER_SECOND_LABEL = "4.8 TB/s";
    private static final int LAUNCHES = 8;

    private final int[] lengths;
    private final List<DecodeTuning> tunings;

    public DecodeAttentionBenchmark(int... lengths) {
        this(tunings(), lengths);
    }

    /** The decode at {@code lengths} under each of {@code tunings}, the first of them first at the first length. */
    public DecodeAttentionBenchmark(List<DecodeTuning> tunings, int... lengths) {
        this.lengths = lengths.clone();
        this.tunings = List.copyOf(tunings);
    }

    /** The tunings compared: the default, and the default with one knob changed. */
    static List<DecodeTuning> tunings() {
        DecodeTuning d = DecodeTuning.DEFAULT;
        return List.of(d,
                new DecodeTuning(1, d.blocksPerSm(), d.unroll(), d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), 3, d.unroll(), d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), 6, d.unroll(), d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), 16, d.unroll(), d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), d.blocksPerSm(), 8, d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), d.blocksPerSm(), d.unroll(), !d.prefetch(), d.fp8Instruction()),
                new DecodeTuning(d.combineWarps(), d.blocksPerSm(), d.unroll(), d.prefetch(), !d.fp8Instruction()));
    }

    /**
     * The key-loop layouts of the grouped decode compared for the 8-bit cache (decode8-ab.sh): the reference
     * ({@link DecodeTuning#REFERENCE}), the permute recipe alone, with head scores (4 and 8 loads), 16 elements a lane with lane scores (2
     * loads: 4 spill on sm_80) and with head scores (4 and 2 loads), the wide layout with e4m3 decoded by the permute
     * recipe rather than the conversion instruction, and the split counts that fill whole waves of blocks at the
     * register counts of the head-score kernels on an H200 (ptxas: 160 registers, 3 blocks an SM; 255, 2); then the
     * permute recipe, head scores and the wide layout with the accumulators rescaled lazily.
     */
    static List<DecodeTuning> layouts() {
        DecodeTuning d = DecodeTuning.REFERENCE;
        DecodeTuning heads = d.withLayout(true, 8, true);
        DecodeTuning wide = d.withLayout(true, 16, true);
        return List.of(d, d.withLayout(true, 8, false), heads, heads.withUnroll(8),
                d.withUnroll(2).withLayout(true, 16, false), wide, wide.withUnroll(2),
                new DecodeTuning(d.combineWarps(), d.blocksPerSm(), d.unroll(), d.prefetch(), false, true, 16, true,
                        false),
                new DecodeTuning(d.combineWarps(), 6, d.unroll(), d.prefetch(), d.fp8Instruction(), true, 8, true,
                        false),
                new DecodeTuning(d.combineWarps(), 4, d.unroll(), d.prefetch(), d.fp8Instruction(), true, 16, true,
                        false),
                d.withLayout(true, 8, false).withLazyRescale(true), heads.withLazyRescale(true),
                wide.withLazyRescale(true));
    }

    @Override
    public String name() {
        return "decode attention (32 heads, 8 KV heads, d 128) by tuning";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        short[] block = FlashAttentionBenchmark.randomBf16(new SplittableRandom(7));
        for (int n = 0; n < lengths.length; n++) {
            int length = lengths[n];
            int kvDim = SHAPE.kvDim();
            try (DeviceBuffer q = FlashAttentionBenchmark.filled(backend, 2L * SHAPE.queryDim(), block);
                 DeviceBuffer o = backend.context().allocate(2L * SHAPE.queryDim());
                 DeviceTensor k = DeviceTensor.allocate(backend.context(), DType.BF16, length, kvDim);
                 DeviceTensor v = DeviceTensor.allocate(backend.context(), DType.BF16, length, kvDim);
                 DeviceBuffer lengthAt = backend.context().allocate(4);
                 CodedKvLayer int8 = new CodedKvLayer(backend.context(), KvCodes.INT8, length, SHAPE.numKvHeads(),
                         SHAPE.headDim());
                 CodedKvLayer e4m3 = new CodedKvLayer(backend.context(), KvCodes.E4M3, length, SHAPE.numKvHeads(),
                         SHAPE.headDim())) {
                FlashAttentionBenchmark.fill(k.buffer(), block);
                // V from another part of the block, so that K and V differ
                short[] shifted = Arrays.copyOfRange(block, block.length / 3, block.length);
                FlashAttentionBenchmark.fill(v.buffer(), shifted);
                lengthAt.copyFromHost(MemorySegment.ofArray(new int[] {length}));
                for (CodedKvLayer coded : List.of(int8, e4m3)) {
                    new KvQuantize(SHAPE.numKvHeads(), SHAPE.headDim(), coded.codes()).launch(backend.stream(), k, v,
                            coded, length);
                }
                backend.stream().synchronize();
                double bf16Bytes = 2.0 * 2 * length * kvDim;
                // int8's scales, the larger (a key scale per 16 channels)
                double fp8Bytes = 2.0 * length * kvDim + CodedKvLayer.scaleBytes(KvCodes.INT8, length,
                        SHAPE.numKvHeads(), SHAPE.headDim());
                measured(figures, new Figure("decode L=" + length + " floor bf16 (K+V " + gb(bf16Bytes) + " at "
                        + BYTES_PER_SECOND_LABEL + ")", bf16Bytes / BYTES_PER_SECOND * 1e6, "us"));
                measured(figures, new Figure("decode L=" + length + " floor 8-bit (K+V " + gb(fp8Bytes) + " at "
                        + BYTES_PER_SECOND_LABEL + ")", fp8Bytes / BYTES_PER_SECOND * 1e6, "us"));
                for (int t = 0; t < tunings.size(); t++) {
                    DecodeTuning tuning = tunings.get((t + n) % tunings.size());
                    try (FlashAttention flash = new FlashAttention(backend.context(), SHAPE, PrefillKernel.configured(),
                            tuning)) {
                        flash.reserveDecode(length);
                        double bf16 = DeviceTimer.medianMillisPerLaunch(backend, 3, 5, LAUNCHES,
                                () -> flash.decode(backend.stream(), q, k, v, o, lengthAt, length));
                        String label = "decode L=" + length + " " + describe(tuning);
                        measured(figures, new Figure(label + " bf16", bf16 * 1e3, "us"));
                        measured(figures, new Figure(label + " bf16", bf16Bytes / (bf16 * 1e-3) / 1e9, "GB/s"));
                        for (CodedKvLayer coded : List.of(int8, e4m3)) {
                            double millis = DeviceTimer.medianMillisPerLaunch(backend, 3, 5, LAUNCHES,
                                    () -> flash.decode(backend.stream(), q, coded, o, lengthAt));
                            String codes = " " + coded.codes().label();
                            measured(figures, new Figure(label + codes, millis * 1e3, "us"));
                            measured(figures, new Figure(label + codes, fp8Bytes / (millis * 1e-3) / 1e9, "GB/s"));
                        }
                    }
                }
            }
        }
        return figures;
    }

    /**
     * Adds a figure and prints it to stderr at once, as GpuBench prints its table at the end: a run cut short by a
     * time limit (decode8-ab.sh's) still leaves what it measured.
     */
    private static void measured(List<Figure> figures, Figure figure) {
        figures.add(figure);
        System.err.printf(Locale.ROOT, "%-62s %12.2f  %s%n", figure.name(), figure.value(), figure.unit());
    }

    static String describe(DecodeTuning t) {
        return "combineWarps=" + t.combineWarps() + " blocksPerSm=" + t.blocksPerSm() + " unroll=" + t.unroll()
                + " prefetch=" + t.prefetch() + " e4m3=" + (t.fp8Instruction() ? "instruction" : "integer")
                + " unpack=" + (t.permute() ? "permute" : "shifts") + " laneValues=" + t.laneValues() + " scores="
                + (t.headScores() ? "head" : "lane") + " rescale=" + (t.lazyRescale() ? "lazy" : "always");
    }

    private static String gb(double bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }

    /**
     * Runs this benchmark alone: {@code DecodeAttentionBenchmark [--layouts] [length...]}, default lengths 131072
     * 524288 1048576; {@code --layouts} compares {@link #layouts()} rather than {@link #tunings()}.
     */
    public static void main(String[] args) {
        boolean layouts = args.length > 0 && args[0].equals("--layouts");
        String[] rest = layouts ? Arrays.copyOfRange(args, 1, args.length) : args;
        int[] lengths;
        try {
            lengths = rest.length == 0 ? new int[] {131072, 524288, 1048576}
                    : Arrays.stream(rest).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            System.err.println("usage: DecodeAttentionBenchmark [--layouts] [length...]: not a length: "
                    + e.getMessage());
            System.exit(2);
            return;
        }
        int status = GpuBench.run(List.of(new DecodeAttentionBenchmark(layouts ? layouts() : tunings(), lengths)),
                System.out);
        if (status != 0) System.exit(status);
    }
}
