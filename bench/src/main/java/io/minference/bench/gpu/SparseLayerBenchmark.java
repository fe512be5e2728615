package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.bench.SlashTilesReport;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.config.PatternFileException;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.GpuIndexBuilder;
import io.minference.sparse.gpu.GpuSparsePrefill;
import io.minference.sparse.gpu.HopperSparseFlashPrefill;
import io.minference.sparse.synthetic.SyntheticAttention;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * One attention layer of the sparse prefill as the model runs it, at LLaMA-3-8B's head layout (32 heads, 8 KV
 * heads, d 128) with one layer's per-head patterns from a pattern file: {@link GpuSparsePrefill#run} (the model's
 * head batches within its index budget, the device index build, the sparse kernel, the {@link DenseFallback}), on
 * three input families side by side (seed 1 each):
 * <ul>
 *   <li>{@code structured}: {@link SyntheticAttention#structured}, a best case (every non-noise term depends on
 *       the key alone or on the diagonal alone);</li>
 *   <li>{@code random}: independent Gaussian Q/K/V, the worst case;</li>
 *   <li>{@code rope}: {@link SyntheticAttention#rope}, locality from real RoPE (base 500000).</li>
 * </ul>
 * Per family and length, CUDA-event medians (warm-up first; sparse, estimation and dense alternate in each repeat):
 * the layer ({@code total}, host waits included), the estimation and index alone over the same batches
 * ({@code GpuIndexBuilder.build} plus the tile count the fallback reads), the attention kernels (the difference),
 * our dense flash kernel, the same layer with no fallback (every head sparse), the mean tile share of the heads'
 * indices (key tiles over causal key tiles: the index density the kernel pays for), the tiles computed (sparse
 * heads' index tiles plus fallback heads' causal tiles, over 32 heads' causal tiles) and the fallback heads. A
 * markdown row per family and length is printed as it completes. cuDNN runs in the same call from
 * {@code bench/scripts/torch_reference.py --gqa-attention LENGTHS}.
 * <p>Given several Hopper sparse variants ({@code --variants}), each runs the layer in every repeat, in an order that
 * rotates from one repeat to the next, on the same inputs and indexes; the table above is the first variant's, and a
 * second table gives every variant's layer and attention kernels (the layer less the estimation measured beside it)
 * against the first's. One process instead of one per variant: the inputs are made once, and the variants alternate.
 * <p>With {@code --dump DIR}, each family's Q, K and V at each length are also written to DIR as the bf16 bits the
 * kernels read ({@code FAMILY-LENGTH.q.bf16}: [tokens, 32 × 128]; {@code .k.bf16} and {@code .v.bf16}: [tokens,
 * 8 × 128]; little-endian), so that {@code bench/scripts/minference_reference.py} can run MInference's own pipeline
 * on the same inputs in the same device call.
 */
public final class SparseLayerBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    private static final List<String> FAMILIES = List.of("structured", "random", "rope");

    private final List<HeadPattern> patterns;
    private final String source;
    private final DenseFallback fallback;
    private final List<HopperSparseFlashPrefill.Variant> variants;
    private final int[] lengths;
    private final InputDump dump;
    /** Whether only the estimation and index are timed (--estimation-only), for comparing builds of them. */
    private final boolean estimationOnly;

    /** The layer with the Hopper sparse variant the system properties name. */
    public SparseLayerBenchmark(List<HeadPattern> patterns, String source, DenseFallback fallback, int... lengths) {
        this(patterns, source, fallback, List.of(HopperSparseFlashPrefill.Variant.configured()), InputDump.NONE,
                false, lengths);
    }

    /**
     * The layer once per Hopper sparse variant, the first the reference (at least one); inputs written to dump; with
     * {@code estimationOnly} nothing but the estimation and index timed.
     */
    public SparseLayerBenchmark(List<HeadPattern> patterns, String source, DenseFallback fallback,
                                List<HopperSparseFlashPrefill.Variant> variants, InputDump dump,
                                boolean estimationOnly, int... lengths) {
        if (variants.isEmpty()) throw new IllegalArgumentException("the layer benchmark wants at least one variant");
        this.patterns = List.copyOf(patterns);
        this.source = source;
        this.fallback = fallback;
        this.variants = List.copyOf(variants);
        this.lengths = lengths.clone();
        this.dump = dump;
        this.estimationOnly = estimationOnly;
    }

    @Override
    public String name() {
        return "sparse attention layer (" + source + "; 32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        PatternPlan plan = new PatternPlan(List.of(patterns));
        // the sparse kernel's family and variants: name them beside the figures
        System.out.println("prefill kernel: " + PrefillKernel.configured().setting() + " (-D" + PrefillKernel.PROPERTY
                + "), Hopper sparse variant: " + variants.getFirst().describe() + (variants.size() == 1 ? ""
                : "; then, in the variants' table, " + variants.subList(1, variants.size()).stream()
                .map(HopperSparseFlashPrefill.Variant::describe).toList()));
        System.out.println("| L | inputs | estimation + index | attention kernels | sparse total | dense flash (ours)"
                + " | speedup | no fallback | est. share of dense | mean tile share | tiles computed | fallback heads"
                + " | batches | index MB (largest batch) | fixed layout MB (all heads) |");
        System.out.println("|" + " --- |".repeat(15));
        List<GpuSparsePrefill> prefills = new ArrayList<>();
        try (GpuSparsePrefill everySparse = new GpuSparsePrefill(plan, backend.context(), SHAPE, DenseFallback.NEVER,
                variants.getFirst());
             GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), SHAPE);
             FlashAttention flash = new FlashAttention(backend.context(), SHAPE)) {
            for (HopperSparseFlashPrefill.Variant variant : variants) {
                prefills.add(new GpuSparsePrefill(plan, backend.context(), SHAPE, fallback, variant));
            }
            List<String> variantRows = new ArrayList<>();
            for (int length : lengths) {
                for (String family : FAMILIES) {
                    try (SyntheticAttention.Sample sample = switch (family) {
                        case "structured" -> SyntheticAttention.structured(SHAPE, length, 1);
                        case "random" -> SyntheticAttention.random(SHAPE, length, 1);
                        default -> SyntheticAttention.rope(SHAPE, length, 1);
                    };
                         DeviceBuffer q = bf16(backend, sample.queries());
                         DeviceBuffer k = bf16(backend, sample.keys());
                         DeviceBuffer v = bf16(backend, sample.values());
                         DeviceBuffer o = backend.context().allocate(2L * length * SHAPE.queryDim())) {
                        dump.write(family + "-" + length, q, k, v);
                        Layer layer = new Layer(backend, patterns, q, k, v, o, length);
                        if (estimationOnly) {
                            figures.add(layer.measureEstimation(family + " L=" + length, builder));
                            continue;
                        }
                        figures.addAll(layer.measure(family + " L=" + length, prefills, everySparse, builder, flash,
                                variants, variantRows));
                    }
                }
            }
            if (variants.size() > 1) {
                System.out.println("| L | inputs | variant | sparse total | attention kernels | against the first |");
                System.out.println("|" + " --- |".repeat(6));
                variantRows.forEach(System.out::println);
            }
        } finally {
            prefills.forEach(GpuSparsePrefill::close);
        }
        return figures;
    }

    /** One family's buffers at one length. */
    private record Layer(CudaBackend backend, List<HeadPattern> patterns, DeviceBuffer q, DeviceBuffer k,
                         DeviceBuffer v, DeviceBuffer o, int length) {
        /**
         * The figures of the first of {@code prefills} (one per variant); with more than one, a row per variant is
         * added to {@code variantRows}. Each repeat runs every variant, starting one further along the list than the
         * repeat before.
         */
        List<Figure> measure(String label, List<GpuSparsePrefill> prefills, GpuSparsePrefill everySparse,
                             GpuIndexBuilder builder, FlashAttention flash,
                             List<HopperSparseFlashPrefill.Variant> variants, List<String> variantRows) {
            int repeats = length >= 262144 ? 2 : 3;
            int count = prefills.size();
            double[][] totals = new double[count][repeats];
            double[] estimation = new double[repeats], dense = new double[repeats], noFallback = new double[repeats];
            GpuSparsePrefill.LayerRun run = null;
            for (int r = -1; r < repeats; r++) {
                for (int i = 0; i < count; i++) {
                    int variant = Math.floorMod(r + i, count);
                    double[] sparseTime = new double[1];
                    GpuSparsePrefill.LayerRun last = timed(sparseTime,
                            () -> prefills.get(variant).run(backend.stream(), 0, q, k, v, o, length));
                    if (r < 0) continue;
                    totals[variant][r] = sparseTime[0];
                    if (variant == 0) run = last;
                }
                double estimate = timed(() -> estimate(builder));
                double flashTime = timed(() -> flash.prefill(backend.stream(), q, k, v, o, length, 0));
                double everyTime = timed(() -> everySparse.run(backend.stream(), 0, q, k, v, o, length));
                if (r < 0) continue;
                estimation[r] = estimate;
                dense[r] = flashTime;
                noFallback[r] = everyTime;
            }
            double t = DeviceTimer.median(totals[0]), e = DeviceTimer.median(estimation),
                    d = DeviceTimer.median(dense), n = DeviceTimer.median(noFallback);
            String family = label.substring(0, label.indexOf(' '));
            List<Figure> variantFigures = new ArrayList<>();
            for (int i = 0; count > 1 && i < count; i++) {
                double variantTotal = DeviceTimer.median(totals[i]);
                String described = variants.get(i).describe();
                variantRows.add(String.format("| %dK | %s | %s | %.2f ms | %.2f ms | %.3f× |", length / 1024, family,
                        described, variantTotal, variantTotal - e, (t - e) / (variantTotal - e)));
                variantFigures.add(new Figure(label + " " + described + " attention kernels", variantTotal - e, "ms"));
            }
            long causal = SparseIndex.causalTiles(length);
            double share = Arrays.stream(run.indexTiles()).mapToDouble(x -> (double) x / causal).average().orElse(1);
            double computed = (double) run.tilesComputed(length) / (causal * SHAPE.numHeads());
            System.out.printf("| %dK | %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f× | %.2f ms | %.1f %% | %.3f |"
                            + " %.3f | %d | %d | %.0f | %.0f |%n", length / 1024, family, e, t - e, t, d, d / t, n,
                    100 * e / d, share, computed, run.fallbackHeads(), run.batches(),
                    run.indexBytes() / 1e6, run.fixedLayoutBytes() / 1e6);
            List<Figure> figures = new ArrayList<>(List.of(new Figure(label + " estimation + index", e, "ms"),
                    new Figure(label + " attention kernels", t - e, "ms"),
                    new Figure(label + " sparse total", t, "ms"), new Figure(label + " dense flash", d, "ms"),
                    new Figure(label + " speedup over dense", d / t, "x"),
                    new Figure(label + " no fallback total", n, "ms"),
                    new Figure(label + " estimation + index share of dense", 100 * e / d, "%"),
                    new Figure(label + " mean tile share", share, ""),
                    new Figure(label + " tiles computed / causal", computed, ""),
                    new Figure(label + " fallback heads", run.fallbackHeads(), "heads"),
                    new Figure(label + " head batches", run.batches(), ""),
                    new Figure(label + " index, largest batch", run.indexBytes() / 1e6, "MB")));
            figures.addAll(variantFigures);
            return figures;
        }

        /**
         * The estimation and index alone: a warm-up, then the median of five, printed as a row of its own (the
         * columns of the full table's first three).
         */
        Figure measureEstimation(String label, GpuIndexBuilder builder) {
            double[] times = new double[5];
            for (int r = -1; r < times.length; r++) {
                double t = timed(() -> estimate(builder));
                if (r >= 0) times[r] = t;
            }
            double median = DeviceTimer.median(times);
            System.out.printf("| %dK | %s | %.2f ms | estimation only |%n", length / 1024,
                    label.substring(0, label.indexOf(' ')), median);
            return new Figure(label + " estimation + index", median, "ms");
        }

        /** The estimation and index of {@link GpuSparsePrefill}: one estimate, then its batches' assembly and tiles. */
        private void estimate(GpuIndexBuilder builder) {
            GpuIndexBuilder.Estimate estimate = builder.estimate(backend.stream(), patterns, 0, SHAPE.numHeads(), q,
                    k, length, null);
            for (int first = 0; first < SHAPE.numHeads(); ) {
                int count = GpuSparsePrefill.headsPerBatch(estimate, first);
                try (DeviceSparseIndex index = builder.assemble(backend.stream(), estimate, first, count)) {
                    builder.tiles(backend.stream(), index);
                }
                first += count;
            }
        }

        private double timed(Runnable work) {
            double[] millis = new double[1];
            timed(millis, () -> {
                work.run();
                return null;
            });
            return millis[0];
        }

        private <T> T timed(double[] millis, Supplier<T> work) {
            try (CudaEvent start = backend.context().createEvent(); CudaEvent end = backend.context().createEvent()) {
                backend.stream().synchronize();
                start.record(backend.stream());
                T result = work.get();
                end.record(backend.stream());
                millis[0] = end.elapsedMillisSince(start);
                return result;
            }
        }
    }

    /** An F32 [rows, width] host tensor as bf16 on the device, converted a row at a time in parallel. */
    private static DeviceBuffer bf16(CudaBackend backend, Tensor t) {
        int rows = (int) t.dim(0), width = (int) t.dim(1);
        DeviceBuffer buffer = backend.context().allocate(2L * rows * width);
        int rowsPerCopy = Math.max(1, (1 << 24) / width);
        for (int first = 0; first < rows; first += rowsPerCopy) {
            int count = Math.min(rowsPerCopy, rows - first);
            short[] bits = new short[count * width];
            int from = first;
            IntStream.range(0, count).parallel().forEach(r -> {
                long base = 4L * (from + r) * width;
                for (int x = 0; x < width; x++) {
                    bits[r * width + x] = BFloat16.fromFloat(t.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED,
                            base + 4L * x));
                }
            });
            buffer.slice(2L * first * width, 2L * count * width).copyFromHost(MemorySegment.ofArray(bits));
        }
        return buffer;
    }

    /** Where the inputs are written for a reference outside the project, or nowhere ({@link #NONE}). */
    public record InputDump(Path directory) {
        public static final InputDump NONE = new InputDump(null);

        /** {@code NAME.q.bf16}, {@code NAME.k.bf16} and {@code NAME.v.bf16}, each the device buffer's bytes. */
        void write(String name, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v) {
            if (directory == null) return;
            try {
                Files.createDirectories(directory);
                copy(q, directory.resolve(name + ".q.bf16"));
                copy(k, directory.resolve(name + ".k.bf16"));
                copy(v, directory.resolve(name + ".v.bf16"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the inputs to " + directory + ": " + e.getMessage(), e);
            }
            System.out.println("inputs written: " + directory.resolve(name) + ".{q,k,v}.bf16");
        }

        private static void copy(DeviceBuffer buffer, Path file) throws IOException {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 Arena arena = Arena.ofConfined()) {
                buffer.copyToHost(channel.map(FileChannel.MapMode.READ_WRITE, 0, buffer.byteSize(), arena));
            }
        }
    }

    private static final String USAGE = "usage: SparseLayerBenchmark PATTERN_FILE LAYER [--fallback SHARE]"
            + " [--variants 'VARIANT|VARIANT...'] [--dump DIR] [--estimation-only] [length...]";

    /**
     * {@code SparseLayerBenchmark PATTERN_FILE LAYER [--fallback SHARE] [--variants 'VARIANT|VARIANT...'] [--dump DIR]
     * [--estimation-only] [length...]}
     * (default lengths 8K, 16K, 32K, 128K, 256K and 512K; the fallback share is {@link DenseFallback#configured()},
     * {@value DenseFallback#DEFAULT_MAX_TILE_SHARE} unless set; a variant as {@link HopperSparseFlashPrefill.Variant#parse}
     * reads it, e.g. {@code 'default|range-box=16|gather=warp schedule=lazy,warp range-box=16'}, the system properties'
     * variant when not given). A malformed argument is one line on stderr and status 2.
     */
    public static void main(String[] args) {
        try {
            int status = GpuBench.run(List.of(parse(args)), System.out);
            if (status != 0) System.exit(status);
        } catch (IllegalArgumentException | PatternFileException e) {
            System.err.println(e.getMessage());
            System.exit(2);
        }
    }

    /**
     * The benchmark {@link #main}'s arguments describe: the options first taken out, the pattern file, layer and
     * lengths read as the tile reports read them ({@link SlashTilesReport.LayerArguments}); a malformed one is an error
     * naming it.
     */
    static SparseLayerBenchmark parse(String[] args) {
        DenseFallback fallback = DenseFallback.configured();
        List<HopperSparseFlashPrefill.Variant> variants = List.of(HopperSparseFlashPrefill.Variant.configured());
        InputDump dump = InputDump.NONE;
        boolean estimationOnly = false;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                rest.add(args[i]);
                continue;
            }
            if (args[i].equals("--estimation-only")) {
                estimationOnly = true;
                continue;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " wants a value; " + USAGE);
            String value = args[++i];
            switch (args[i - 1]) {
                case "--fallback" -> fallback = new DenseFallback(share(value));
                case "--variants" -> variants = Arrays.stream(value.split("\\|"))
                        .map(HopperSparseFlashPrefill.Variant::parse).toList();
                case "--dump" -> dump = new InputDump(Path.of(value));
                default -> throw new IllegalArgumentException("unknown option " + args[i - 1] + "; " + USAGE);
            }
        }
        if (rest.size() < 2) throw new IllegalArgumentException(USAGE);
        var layer = SlashTilesReport.LayerArguments.parse("SparseLayerBenchmark", rest.toArray(String[]::new),
                8192, 16384, 32768, 131072, 262144, 524288);
        return new SparseLayerBenchmark(layer.patterns(), Path.of(rest.get(0)).getFileName() + " layer " + rest.get(1),
                fallback, variants, dump, estimationOnly, layer.lengths());
    }

    private static double share(String text) {
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--fallback must be a share of the causal tiles, not '" + text + "'");
        }
    }

    /** Where this benchmark writes its inputs (for its test). */
    InputDump dump() {
        return dump;
    }

    /** Whether it times the estimation and index alone (for its test). */
    boolean estimationOnly() {
        return estimationOnly;
    }

    /** The variants this benchmark times (for its test). */
    List<HopperSparseFlashPrefill.Variant> variants() {
        return variants;
    }
}
