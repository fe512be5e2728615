package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.GpuIndexBuilder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Vertical-slash estimation and index building on the device for one layer at LLaMA-3-8B's head layout (32 heads,
 * 8 KV heads, d = 128), every head at MInference's default budget (1000 columns, 6096 diagonals), next to the dense
 * flash prefill of the same length: build time in ms (end to end, as {@link GpuIndexBuilder#build} costs a caller,
 * index allocation included, and that allocation alone) and as a percentage of the dense prefill. Random bf16 Q/K (the worst case: the same
 * amount of work as structured inputs, since top-k budgets fix the kept counts).
 */
public final class SparseEstimationBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);

    private final int[] lengths;

    public SparseEstimationBenchmark(int... lengths) {
        this.lengths = lengths.clone();
    }

    /** 32K and 128K tokens. */
    public SparseEstimationBenchmark() {
        this(32768, 131072);
    }

    @Override
    public String name() {
        return "sparse estimation + index (32 heads, 8 KV heads, d 128, vertical-slash 1000/6096)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        short[] block = FlashAttentionBenchmark.randomBf16(new SplittableRandom());
        List<HeadPattern> patterns = Collections.nCopies(SHAPE.numHeads(), HeadPattern.VerticalSlash.DEFAULT);
        try (GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), SHAPE);
             FlashAttention flash = new FlashAttention(backend.context(), SHAPE)) {
            for (int length : lengths) {
                try (PromptBuffers buffers = PromptBuffers.random(backend, SHAPE, length, block)) {
                    DeviceBuffer q = buffers.q(), k = buffers.k(), v = buffers.v(), o = buffers.o();
                    double build = DeviceTimer.medianMillis(backend, 1, 5, () -> {
                        try (DeviceSparseIndex index = builder.build(backend.stream(), patterns, 0,
                                SHAPE.numHeads(), q, k, length)) {
                            backend.stream().synchronize();
                        }
                    });
                    double dense = DeviceTimer.medianMillis(backend, 1, length >= 65536 ? 3 : 5,
                            () -> flash.prefill(backend.stream(), q, k, v, o, length, 0));
                    figures.add(new Figure("sparse estimation + index L=" + length, build, "ms"));
                    figures.add(new Figure("dense flash prefill L=" + length, dense, "ms"));
                    figures.add(new Figure("estimation + index / dense L=" + length, 100 * build / dense, "%"));
                }
            }
        }
        return figures;
    }

    /** Runs this benchmark alone: {@code SparseEstimationBenchmark [length...]}. */
    public static void main(String[] args) {
        int[] lengths = args.length == 0 ? new int[] {32768, 131072}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        int status = GpuBench.run(List.of(new SparseEstimationBenchmark(lengths)), System.out);
        if (status != 0) System.exit(status);
    }
}
