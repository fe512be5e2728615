package io.minference.bench.jmh;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.Budget;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.GpuIndexBuilder;
import io.minference.sparse.gpu.GpuSparsePrefill;
import io.minference.sparse.gpu.SparseFlashAttention;
import io.minference.sparse.synthetic.SyntheticAttention;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The sparse prefill's device kernels, one operation waited for, on one layer of structured synthetic attention
 * ({@link SyntheticAttention}, default parameters, seed 1) at LLaMA-3-8B's head layout, with {@link #LAYER_22_MIX}:
 * the head budgets of layer 22 of MInference's LLaMA-3-8B-262k pattern file. {@code estimateAndIndex} is the device
 * index build (estimation, selection and assembly, all heads), {@code sparseKernel} the sparse tensor-core attention
 * over the index that build made, {@code sparseLayer} the whole layer as the model runs it ({@link GpuSparsePrefill}:
 * head batches of the compact index, the dense fallback at its configured share).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SparseJmh {
    public static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    /** 16 heads at 1000/6096, 7 at 30/800, 5 at 100/800, 4 at 3500/100. */
    public static final List<HeadPattern> LAYER_22_MIX = layer22Mix();

    @Param({"32768", "131072"})
    public int length;

    private CudaBackend backend;
    private GpuIndexBuilder builder;
    private SparseFlashAttention sparse;
    private GpuSparsePrefill layer;
    private DeviceBuffer q;
    private DeviceBuffer k;
    private DeviceBuffer v;
    private DeviceBuffer o;
    private DeviceSparseIndex index;

    private static List<HeadPattern> layer22Mix() {
        List<HeadPattern> heads = new ArrayList<>();
        heads.addAll(Collections.nCopies(16, HeadPattern.VerticalSlash.DEFAULT));
        heads.addAll(Collections.nCopies(7, new HeadPattern.VerticalSlash(Budget.topK(30), Budget.topK(800))));
        heads.addAll(Collections.nCopies(5, new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(800))));
        heads.addAll(Collections.nCopies(4, new HeadPattern.VerticalSlash(Budget.topK(3500), Budget.topK(100))));
        return List.copyOf(heads);
    }

    @Setup(Level.Trial)
    public void open() {
        backend = GpuSession.open();
        builder = new GpuIndexBuilder(backend.context(), SHAPE);
        sparse = new SparseFlashAttention(backend.context(), SHAPE);
        layer = new GpuSparsePrefill(new PatternPlan(List.of(LAYER_22_MIX)), backend.context(), SHAPE,
                DenseFallback.configured());
        try (SyntheticAttention.Sample sample = SyntheticAttention.structured(SHAPE, length, 1)) {
            q = bf16(sample.queries());
            k = bf16(sample.keys());
            v = bf16(sample.values());
        }
        o = backend.context().allocate(2L * length * SHAPE.queryDim());
        index = builder.build(backend.stream(), LAYER_22_MIX, 0, SHAPE.numHeads(), q, k, length);
        backend.stream().synchronize();
    }

    private DeviceBuffer bf16(Tensor t) {
        long n = t.dim(0) * t.dim(1);
        short[] bits = new short[Math.toIntExact(n)];
        IntStream.range(0, bits.length).parallel().forEach(i ->
                bits[i] = BFloat16.fromFloat(t.data().getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        DeviceBuffer buffer = backend.context().allocate(2L * n);
        buffer.copyFromHost(MemorySegment.ofArray(bits));
        return buffer;
    }

    @TearDown(Level.Trial)
    public void close() {
        index.close();
        o.close();
        v.close();
        k.close();
        q.close();
        layer.close();
        sparse.close();
        builder.close();
        backend.close();
    }

    /** Rebuilds the index in the builder's memory; {@link #sparseKernel} reads the same geometry after it. */
    @Benchmark
    public void estimateAndIndex() {
        index = builder.build(backend.stream(), LAYER_22_MIX, 0, SHAPE.numHeads(), q, k, length);
        backend.stream().synchronize();
    }

    @Benchmark
    public void sparseKernel() {
        sparse.launch(backend.stream(), q, k, v, o, index);
        backend.stream().synchronize();
    }

    /** The layer as the model runs it: estimation, compact index in head batches, dense fallback, kernels. */
    @Benchmark
    public void sparseLayer() {
        layer.run(backend.stream(), 0, q, k, v, o, length);
        backend.stream().synchronize();
    }
}
