package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.config.PatternFiles;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.GpuIndexBuilder;
import io.minference.sparse.gpu.SparseFlashAttention;
import io.minference.sparse.synthetic.SyntheticAttention;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * One attention layer of the sparse prefill at LLaMA-3-8B's head layout (32 heads, 8 KV heads, d 128) with one
 * layer's per-head patterns from a pattern file, on the structured synthetic inputs of {@link SyntheticAttention}
 * (default parameters, seed 1) and on plain random Q/K: estimation, index assembly and the sparse kernel timed apart
 * with CUDA events (medians of 3), next to the dense flash kernel on the same inputs.
 */
public final class SparseLayerBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);

    private final List<HeadPattern> patterns;
    private final String source;
    private final int[] lengths;

    public SparseLayerBenchmark(List<HeadPattern> patterns, String source, int... lengths) {
        this.patterns = List.copyOf(patterns);
        this.source = source;
        this.lengths = lengths.clone();
    }

    @Override
    public String name() {
        return "sparse attention layer (" + source + "; 32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), SHAPE);
             SparseFlashAttention sparse = new SparseFlashAttention(backend.context(), SHAPE);
             FlashAttention flash = new FlashAttention(backend.context(), SHAPE)) {
            for (int length : lengths) {
                for (boolean structured : new boolean[] {true, false}) {
                    String label = (structured ? "structured" : "random") + " L=" + length;
                    try (SyntheticAttention.Sample sample = structured
                            ? SyntheticAttention.structured(SHAPE, length, 1)
                            : SyntheticAttention.random(SHAPE, length, 1);
                         DeviceBuffer q = bf16(backend, sample.queries());
                         DeviceBuffer k = bf16(backend, sample.keys());
                         DeviceBuffer v = bf16(backend, sample.values());
                         DeviceBuffer o = backend.context().allocate(2L * length * SHAPE.queryDim())) {
                        figures.addAll(time(backend, builder, sparse, flash, q, k, v, o, length, label));
                    }
                    System.out.println(figures.subList(Math.max(0, figures.size() - 6), figures.size()));
                }
            }
        }
        return figures;
    }

    private List<Figure> time(CudaBackend backend, GpuIndexBuilder builder, SparseFlashAttention sparse,
                              FlashAttention flash, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer o,
                              int length, String label) {
        int repeats = 3;
        double[] estimation = new double[repeats], assembly = new double[repeats], kernel = new double[repeats];
        try (CudaEvent start = backend.context().createEvent(); CudaEvent estimated = backend.context().createEvent();
             CudaEvent indexed = backend.context().createEvent(); CudaEvent done = backend.context().createEvent()) {
            for (int r = -1; r < repeats; r++) {
                backend.stream().synchronize();
                start.record(backend.stream());
                try (DeviceSparseIndex index = builder.build(backend.stream(), patterns, 0, SHAPE.numHeads(), q, k,
                        length, estimated)) {
                    indexed.record(backend.stream());
                    sparse.launch(backend.stream(), q, k, v, o, index);
                    done.record(backend.stream());
                    done.synchronize();
                }
                if (r < 0) continue;
                estimation[r] = estimated.elapsedMillisSince(start);
                assembly[r] = indexed.elapsedMillisSince(estimated);
                kernel[r] = done.elapsedMillisSince(indexed);
            }
        }
        double dense = DeviceTimer.medianMillis(backend, 1, repeats,
                () -> flash.prefill(backend.stream(), q, k, v, o, length, 0));
        double e = DeviceTimer.median(estimation), a = DeviceTimer.median(assembly), s = DeviceTimer.median(kernel);
        double total = e + a + s;
        return List.of(new Figure(label + " estimation", e, "ms"), new Figure(label + " index assembly", a, "ms"),
                new Figure(label + " sparse kernel", s, "ms"), new Figure(label + " sparse total", total, "ms"),
                new Figure(label + " dense flash", dense, "ms"),
                new Figure(label + " speedup over dense", dense / total, "x"),
                new Figure(label + " estimation + index share", 100 * (e + a) / total, "%"));
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

    /** {@code SparseLayerBenchmark PATTERN_FILE LAYER [length...]} (default lengths 32K and 128K). */
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: SparseLayerBenchmark PATTERN_FILE LAYER [length...]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        int layer = Integer.parseInt(args[1]);
        int[] lengths = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {32768, 131072};
        var plan = PatternFiles.read(file);
        if (layer < 0 || layer >= plan.numLayers()) {
            System.err.println(file + " has layers 0 to " + (plan.numLayers() - 1) + ", not " + layer);
            System.exit(2);
        }
        List<HeadPattern> patterns = plan.layers().get(layer);
        int status = GpuBench.run(List.of(new SparseLayerBenchmark(patterns, file.getFileName() + " layer " + layer,
                lengths)), System.out);
        if (status != 0) System.exit(status);
    }
}
