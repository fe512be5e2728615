package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.Budget;
import io.minference.sparse.CpuSparseAttention;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.SparsePrefills;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.PatternRegistry;
import io.minference.sparse.synthetic.SyntheticAttention;
import io.minference.kernels.flash.DevicePromptAttention;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The two sparse paths side by side on the same bf16-rounded structured inputs: the CPU pattern registry's index and
 * the device builder's, head by head (dense and A-shape heads exactly; estimated heads up to the float differences of
 * two summation orders, measured as the share of attended (query block, key) pairs they disagree on), then the GPU
 * sparse prefill's output against the CPU reference attention over the CPU's index.
 */
@Tag("gpu")
class GpuCpuAgreementGpuTest {
    private static final AttentionShape SHAPE = new AttentionShape(8, 2, 128);
    private static final List<HeadPattern> PATTERNS = List.of(
            HeadPattern.VerticalSlash.DEFAULT,
            new HeadPattern.VerticalSlash(Budget.topK(30), Budget.topK(800)),
            new HeadPattern.VerticalSlash(Budget.topK(100), Budget.topK(800)),
            new HeadPattern.VerticalSlash(Budget.topK(3500), Budget.topK(100)),
            new HeadPattern.AShape(128, 1024),
            new HeadPattern.BlockSparse(Budget.topK(16)),
            new HeadPattern.Dense(),
            new HeadPattern.VerticalSlash(Budget.mass(0.9), Budget.mass(0.9)));

    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        backend = CudaBackend.open(0);
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @ParameterizedTest(name = "L = {0}")
    @ValueSource(ints = {1000, 4099, 16384})
    void bothPathsKeepTheSameKeysAndAttendAlike(int length) {
        try (SyntheticAttention.Sample sample = SyntheticAttention.structured(SHAPE, length, length)) {
            short[] q = bf16(sample.queries()), k = bf16(sample.keys()), v = bf16(sample.values());
            try (Tensor qf = f32(q, length, SHAPE.queryDim()); Tensor kf = f32(k, length, SHAPE.kvDim());
                 Tensor vf = f32(v, length, SHAPE.kvDim());
                 Tensor expected = Tensor.allocate(DType.F32, length, SHAPE.queryDim());
                 DeviceBuffer qd = upload(q); DeviceBuffer kd = upload(k); DeviceBuffer vd = upload(v);
                 DeviceBuffer out = backend.context().allocate(2L * q.length);
                 GpuIndexBuilder builder = new GpuIndexBuilder(backend.context(), SHAPE)) {
                LayerInputs inputs = new LayerInputs(SHAPE, qf, kf, length);
                SparseIndex gpu;
                try (DeviceSparseIndex index = builder.build(backend.stream(), PATTERNS, 0, SHAPE.numHeads(), qd, kd,
                        length)) {
                    backend.stream().synchronize();
                    gpu = index.download();
                }
                for (int head = 0; head < SHAPE.numHeads(); head++) {
                    SparseIndex cpu = cpuIndex(inputs, head, length);
                    CpuSparseAttention.attend(SHAPE, qf, kf, vf, expected, cpu);
                    HeadPattern pattern = PATTERNS.get(head);
                    double disagreement = disagreement(cpu, gpu, head);
                    String what = pattern + " at L = " + length + ": " + disagreement;
                    if (pattern instanceof HeadPattern.Dense || pattern instanceof HeadPattern.AShape) {
                        assertEquals(0.0, disagreement, what);
                    } else {
                        assertTrue(disagreement <= 1e-3, what);
                    }
                }
                try (DevicePromptAttention sparse = SparsePrefills.gpu(new PatternPlan(List.of(PATTERNS)),
                        backend.context(), SHAPE)) {
                    sparse.attend(backend.stream(), 0, qd, kd, vd, out, length);
                    backend.stream().synchronize();
                }
                short[] actual = new short[q.length];
                out.copyToHost(MemorySegment.ofArray(actual));
                double diff = 0, norm = 0;
                for (int i = 0; i < actual.length; i++) {
                    double e = expected.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    double a = BFloat16.toFloat(actual[i]);
                    assertTrue(Double.isFinite(a), "output element " + i + " written and finite");
                    diff += (a - e) * (a - e);
                    norm += e * e;
                }
                assertTrue(Math.sqrt(diff / norm) <= 1e-2, "GPU sparse prefill vs CPU reference over the CPU's index: "
                        + Math.sqrt(diff / norm));
            }
        }
    }

    private static SparseIndex cpuIndex(LayerInputs inputs, int head, int length) {
        HeadIndex selection = PatternRegistry.builtIn().estimate(PATTERNS.get(head), inputs, head);
        var capacity = selection.capacity();
        SparseIndex index = new SparseIndex(head, 1, length, capacity.maxRanges(), capacity.maxColumns());
        selection.writeTo(index, 0);
        return index;
    }

    /** Attended (query block, key) pairs in one index and not the other, over those in either. */
    private static double disagreement(SparseIndex cpu, SparseIndex gpu, int head) {
        long differ = 0, either = 0;
        for (int b = 0; b < cpu.queryBlocks(); b++) {
            boolean[] a = keys(cpu, 0, b), g = keys(gpu, head, b);
            for (int key = 0; key < a.length; key++) {
                if (a[key] || g[key]) either++;
                if (a[key] != g[key]) differ++;
            }
        }
        return either == 0 ? 0 : (double) differ / either;
    }

    private static boolean[] keys(SparseIndex index, int slot, int b) {
        boolean[] kept = new boolean[index.blockEnd(b)];
        for (int r = 0; r < index.rangeCount(slot, b); r++) {
            for (int key = index.rangeStart(slot, b, r); key < index.rangeEnd(slot, b, r); key++) kept[key] = true;
        }
        for (int c = 0; c < index.columnCount(slot, b); c++) kept[index.column(slot, b, c)] = true;
        return kept;
    }

    private static short[] bf16(Tensor t) {
        short[] bits = new short[Math.toIntExact(t.dim(0) * t.dim(1))];
        IntStream.range(0, bits.length).parallel().forEach(i ->
                bits[i] = BFloat16.fromFloat(t.data().getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        return bits;
    }

    private static Tensor f32(short[] bits, int rows, int width) {
        Tensor t = Tensor.allocate(DType.F32, rows, width);
        for (int i = 0; i < bits.length; i++) t.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, BFloat16.toFloat(bits[i]));
        return t;
    }

    private static DeviceBuffer upload(short[] bits) {
        DeviceBuffer buffer = backend.context().allocate(2L * bits.length);
        buffer.copyFromHost(MemorySegment.ofArray(bits));
        return buffer;
    }
}
