package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import io.minference.sparse.Budget;
import io.minference.sparse.CpuSparseAttention;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.IndexDensity;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.pattern.DensePattern;
import io.minference.sparse.pattern.HeadIndex;
import io.minference.sparse.pattern.PatternRegistry;
import io.minference.sparse.synthetic.SyntheticAttention;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two sparse paths side by side on the same bf16-rounded structured inputs: the CPU pattern registry's index and
 * the device builder's, head by head (dense and A-shape heads exactly; estimated heads up to the float differences of
 * two summation orders, measured as the share of attended (query block, key) pairs they disagree on) and their key
 * tile counts (the device's {@link IndexTiles} against {@link SparseIndex#tiles(int)}), the dense fallback decided
 * alike, then the GPU sparse prefill's output row by row against the CPU reference attention over the device's index
 * with the fallback heads dense, for the default fallback, none, and every head dense.
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
        backend = GpuTests.openOrSkip();
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
                long[] deviceTiles;
                try (DeviceSparseIndex index = builder.build(backend.stream(), PATTERNS, 0, SHAPE.numHeads(), qd, kd,
                        length)) {
                    backend.stream().synchronize();
                    gpu = index.download();
                    GpuIndexBuilder.HeadCounts counts = builder.counts(backend.stream(), index, true);
                    deviceTiles = counts.tiles();
                    // the device's key count (a measuring prefill's density) against its CPU twin and the host count
                    assertArrayEquals(IndexKeys.count(gpu), counts.keys(), "device key counts at L = " + length);
                    IndexDensity host = IndexDensity.measure();
                    host.add(gpu);
                    assertEquals(host.attendedKeys(), Arrays.stream(counts.keys()).sum(), "keys at L = " + length);
                }
                try (DeviceSparseIndex index = builder.build(backend.stream(), PATTERNS, 0, SHAPE.numHeads(), qd, kd,
                        length)) {
                    deviceTiles = builder.tiles(backend.stream(), index);
                }
                boolean[] cpuDense = new boolean[SHAPE.numHeads()];
                double[] cpuShare = new double[SHAPE.numHeads()];
                for (int head = 0; head < SHAPE.numHeads(); head++) {
                    SparseIndex cpu = cpuIndex(inputs, head, length);
                    HeadPattern pattern = PATTERNS.get(head);
                    double disagreement = disagreement(cpu, gpu, head);
                    String what = pattern + " at L = " + length + ": " + disagreement;
                    if (pattern instanceof HeadPattern.Dense || pattern instanceof HeadPattern.AShape) {
                        assertEquals(0.0, disagreement, what);
                    } else {
                        assertTrue(disagreement <= 1e-3, what);
                    }
                    assertEquals(gpu.tiles(head), deviceTiles[head], "device tile count of head " + head);
                    cpuDense[head] = DenseFallback.DEFAULT.runsDense(cpu.tiles(0), length);
                    cpuShare[head] = (double) cpu.tiles(0) / SparseIndex.causalTiles(length);
                }
                for (DenseFallback fallback : List.of(DenseFallback.DEFAULT, DenseFallback.NEVER,
                        new DenseFallback(0))) {
                    GpuSparsePrefill.LayerRun run;
                    out.fillIntsAsync(0x7FC07FC0, backend.stream());   // bf16 NaNs: every element must be written
                    IndexDensity deviceDensity = IndexDensity.measure();
                    try (GpuSparsePrefill sparse = new GpuSparsePrefill(new PatternPlan(List.of(PATTERNS)),
                            backend.context(), SHAPE, fallback, deviceDensity)) {
                        run = sparse.run(backend.stream(), 0, qd, kd, vd, out, length);
                        backend.stream().synchronize();
                    }
                    System.out.println("L = " + length + ", " + fallback + ": tiles "
                            + Arrays.toString(run.indexTiles()) + ", dense heads "
                            + Arrays.toString(run.denseHeads()) + ", CPU shares "
                            + Arrays.toString(cpuShare));
                    SparseIndex attended = new SparseIndex(0, SHAPE.numHeads(), length, gpu.maxRanges(),
                            gpu.maxColumns());
                    for (int head = 0; head < SHAPE.numHeads(); head++) {
                        assertEquals(gpu.tiles(head), run.indexTiles()[head], "the run's tiles of head " + head);
                        assertEquals(fallback.runsDense(run.indexTiles()[head], length), run.denseHeads()[head]);
                        if (fallback == DenseFallback.DEFAULT
                                && Math.abs(cpuShare[head] - DenseFallback.DEFAULT_MAX_TILE_SHARE) > 0.01) {
                            assertEquals(cpuDense[head], run.denseHeads()[head],
                                    "CPU and GPU fallback of head " + head);
                        }
                        copyHead(gpu, attended, head, run.denseHeads()[head]);
                    }
                    IndexDensity hostDensity = IndexDensity.measure();
                    hostDensity.add(attended);
                    assertEquals(hostDensity.attendedKeys(), deviceDensity.attendedKeys(),
                            "the prefill's device-counted keys, L = " + length + ", " + fallback);
                    assertEquals(hostDensity.causalKeys(), deviceDensity.causalKeys());
                    CpuSparseAttention.attend(SHAPE, qf, kf, vf, expected, attended);
                    short[] actual = new short[q.length];
                    out.copyToHost(MemorySegment.ofArray(actual));
                    assertRowsClose(expected, actual, length, "L = " + length + ", " + fallback);
                }
            }
        }
    }

    /** Head {@code head} of {@code from} into {@code to}, or the dense index in its place. */
    private static void copyHead(SparseIndex from, SparseIndex to, int head, boolean dense) {
        if (dense) {
            DensePattern.index().writeTo(to, head);
            return;
        }
        for (int b = 0; b < from.queryBlocks(); b++) {
            for (int r = 0; r < from.rangeCount(head, b); r++) {
                to.addRange(head, b, from.rangeStart(head, b, r), from.rangeEnd(head, b, r));
            }
            for (int c = 0; c < from.columnCount(head, b); c++) to.addColumn(head, b, from.column(head, b, c));
        }
    }

    /**
     * Per query row and head: {@code |a - e| <= 1e-2 |e| + 1e-3 sqrt(d)} (bf16 output, f32 accumulation; the
     * reference attends the same keys in float).
     */
    private static void assertRowsClose(Tensor expected, short[] actual, int length, String what) {
        int d = SHAPE.headDim();
        for (int i = 0; i < length; i++) {
            for (int head = 0; head < SHAPE.numHeads(); head++) {
                double diff = 0, norm = 0;
                for (int x = 0; x < d; x++) {
                    int at = i * SHAPE.queryDim() + head * d + x;
                    double e = expected.data().getAtIndex(ValueLayout.JAVA_FLOAT, at);
                    double a = BFloat16.toFloat(actual[at]);
                    assertTrue(Double.isFinite(a), what + ": row " + i + " head " + head + " written and finite");
                    diff += (a - e) * (a - e);
                    norm += e * e;
                }
                double bound = 1e-2 * Math.sqrt(norm) + 1e-3 * Math.sqrt(d);
                assertTrue(Math.sqrt(diff) <= bound, what + ": row " + i + " head " + head + " off by "
                        + Math.sqrt(diff) + " > " + bound);
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
