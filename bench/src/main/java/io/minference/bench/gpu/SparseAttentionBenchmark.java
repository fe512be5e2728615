package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.FlashPrefill;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.GatherArrival;
import io.minference.sparse.gpu.HopperSparseFlashPrefill;
import io.minference.sparse.gpu.SparseFlashAttention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The sparse tensor-core kernel at LLaMA-3-8B's head layout (32 heads, 8 KV heads, d = 128) over a
 * {@link SyntheticVerticalSlash} index of the default budget (1000 columns, 6096 diagonals), banded and uniform, and
 * of its two diagnostic families (almost only gathered columns, almost only ranges),
 * beside the dense flash kernel on the same buffers: ms, attended pairs, tiles, effective TFLOP/s (4 d per attended
 * query-key pair), the rate on the tiles the kernel multiplies (4 d 64 64 per tile, counted with the kernel's range
 * box: {@code -Dminference.sparse.range-box}), and the speedup over dense.
 * The dense kernel also runs in the sparse kernel's block shape (64 query rows, 4 warps), which separates what the
 * smaller block costs from what the index costs. On sm_90 both sparse kernels run (the Hopper one, wgmma and TMA, and
 * the mma.sync one; the Hopper one with each {@link GatherArrival}, then with paired query blocks), each labelled;
 * dense is the kernel FlashAttention picks. Where the properties configure clusters or persistent blocks, which take
 * only some gathers and no pairs, the Hopper kernel runs as configured alone.
 * Inputs are random bf16; medians of event-timed repeats. An index's sparse kernels and the dense kernel are timed
 * in rounds whose order rotates ({@link DeviceTimer#rotatingMedians}), so that none is always first, and each sparse
 * kernel's rate on its tiles is also given over the dense kernel's rate in the same rounds (issue 10's kernel rate).
 */
public final class SparseAttentionBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);

    private final int[] lengths;

    public SparseAttentionBenchmark(int... lengths) {
        this.lengths = lengths.clone();
    }

    /** 32K and 128K tokens. */
    public SparseAttentionBenchmark() {
        this(32768, 131072);
    }

    @Override
    public String name() {
        return "sparse flash attention, vertical-slash 1000/6096 (32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        short[] block = FlashAttentionBenchmark.randomBf16(new SplittableRandom(7));
        int d = SHAPE.headDim();
        FlashPrefill smallBlocks = new FlashPrefill(d, 64, 64, 3);
        Kernel smallBlockKernel = backend.context().kernel(smallBlocks.emit(backend.device().ptxTarget()),
                LaunchShape.of(1, 32));
        float scale = FlashAttention.log2Scale(d);
        List<String> labels = new ArrayList<>();
        List<SparseFlashAttention> sparseKernels = new ArrayList<>();
        if (backend.device().runs(PtxTarget.SM_90A)) {
            for (LabelledVariant hopper : hopperVariants(HopperSparseFlashPrefill.Variant.configured())) {
                labels.add(hopper.label());
                sparseKernels.add(new SparseFlashAttention(backend.context(), SHAPE, PrefillKernel.HOPPER,
                        hopper.variant()));
            }
        }
        labels.add(PrefillKernel.MMA_SYNC.setting());
        sparseKernels.add(new SparseFlashAttention(backend.context(), SHAPE, PrefillKernel.MMA_SYNC));
        try (FlashAttention flash = new FlashAttention(backend.context(), SHAPE)) {
            for (int length : lengths) {
                try (PromptBuffers buffers = PromptBuffers.random(backend, SHAPE, length, block)) {
                    DeviceBuffer q = buffers.q(), k = buffers.k(), v = buffers.v(), o = buffers.o();
                    int repeats = length >= 65536 ? 3 : 7;
                    double denseMillis = DeviceTimer.medianMillis(backend, 1, repeats,
                            () -> flash.prefill(backend.stream(), q, k, v, o, length, 0));
                    double densePairs = (double) length * (length + 1) / 2 * SHAPE.numHeads();
                    String denseLabel = "dense flash L=" + length;
                    figures.add(new Figure(denseLabel, denseMillis, "ms"));
                    figures.add(new Figure(denseLabel, 4.0 * d * densePairs / (denseMillis * 1e-3) / 1e12,
                            "TFLOP/s"));
                    Kernel shaped = smallBlockKernel.withShape(new LaunchShape(SHAPE.numHeads(),
                            smallBlocks.queryBlocks(length), 1, smallBlocks.threads(), 1, 1));
                    double smallMillis = DeviceTimer.medianMillis(backend, 1, repeats, () -> shaped.launch(
                            backend.stream(), q, k, v, o, length, 0, SHAPE.numHeads(), SHAPE.numKvHeads(), scale));
                    figures.add(new Figure(denseLabel + ", 64-row blocks",
                            4.0 * d * densePairs / (smallMillis * 1e-3) / 1e12, "TFLOP/s"));
                    for (SyntheticVerticalSlash.Family shapeOfIndex : SyntheticVerticalSlash.Family.values()) {
                        SparseIndex host = SyntheticVerticalSlash.build(SHAPE.numHeads(), length, shapeOfIndex, 42);
                        long pairs = SyntheticVerticalSlash.attendedPairs(host);
                        // the tiles each kernel computes, counted once per range box
                        Map<Integer, Long> tilesByBox = new HashMap<>();
                        try (DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), host)) {
                            // the dense kernel first in the list, so that its rate in these same rounds is
                            // what each sparse kernel's rate is set against
                            List<Runnable> launches = new ArrayList<>();
                            launches.add(() -> flash.prefill(backend.stream(), q, k, v, o, length, 0));
                            sparseKernels.forEach(sparse ->
                                    launches.add(() -> sparse.launch(backend.stream(), q, k, v, o, index)));
                            double[] medians = DeviceTimer.rotatingMedians(backend, 1, repeats, launches);
                            double denseRate = 4.0 * d * densePairs / (medians[0] * 1e-3) / 1e12;
                            figures.add(new Figure(denseLabel + " beside " + shapeOfIndex.label(), denseRate,
                                    "TFLOP/s"));
                            for (int f = 0; f < sparseKernels.size(); f++) {
                                SparseFlashAttention sparse = sparseKernels.get(f);
                                long tiles = tilesByBox.computeIfAbsent(sparse.rangeBox(),
                                        box -> SyntheticVerticalSlash.keyTiles(host, box));
                                double millis = medians[f + 1];
                                double tileRate = 4.0 * d * 64 * 64 * tiles / (millis * 1e-3) / 1e12;
                                String label = "sparse " + labels.get(f) + " " + shapeOfIndex.label() + " L="
                                        + length;
                                figures.add(new Figure(label, millis, "ms"));
                                figures.add(new Figure(label + " attended pairs", pairs / 1e9, "G"));
                                figures.add(new Figure(label + " density vs causal", pairs / densePairs, "x"));
                                figures.add(new Figure(label + " key tiles", tiles / 1e6, "M"));
                                figures.add(new Figure(label + " ranges per block, at most", host.maxRanges(),
                                        "ranges"));
                                figures.add(new Figure(label + " effective",
                                        4.0 * d * pairs / (millis * 1e-3) / 1e12, "TFLOP/s"));
                                figures.add(new Figure(label + " on tiles", tileRate, "TFLOP/s"));
                                figures.add(new Figure(label + " on tiles over dense", tileRate / denseRate, "x"));
                                figures.add(new Figure(label + " index bytes (compact)", index.byteSize() / 1e6,
                                        "MB"));
                                figures.add(new Figure(label + " speedup over dense", medians[0] / millis, "x"));
                            }
                        }
                    }
                }
            }
        } finally {
            sparseKernels.forEach(SparseFlashAttention::close);
        }
        return figures;
    }

    /** A Hopper sparse kernel's variant and the label its figures carry. */
    record LabelledVariant(String label, HopperSparseFlashPrefill.Variant variant) {
    }

    /**
     * The Hopper kernels timed beside the configured variant's settings: the configured variant with each hand-over
     * of gathered columns, then paired query blocks (one key stream for two 64-row blocks of a head) in the
     * {@link HopperSparseFlashPrefill.Variant#BASELINE}'s settings, the only ones pairs were built for (its order
     * among them: pairs refuse the head-major default). Where the configured variant has clusters or persistent
     * blocks, which take only some gathers and no pairs, it runs alone, as configured.
     */
    static List<LabelledVariant> hopperVariants(HopperSparseFlashPrefill.Variant configured) {
        String hopper = PrefillKernel.HOPPER.setting();
        if (configured.cluster() || configured.persistent()) {
            return List.of(new LabelledVariant(hopper + " " + configured.describe(), configured));
        }
        List<LabelledVariant> variants = new ArrayList<>();
        HopperSparseFlashPrefill.Variant single = configured.withPairs(false);
        String boxes = single.rangeBox() == SparseIndex.BLOCK ? "" : " rb" + single.rangeBox();
        for (GatherArrival gather : GatherArrival.values()) {
            variants.add(new LabelledVariant(hopper + " " + gather.setting() + "-gather" + boxes,
                    single.withGather(gather)));
        }
        variants.add(new LabelledVariant(hopper + " pairs", HopperSparseFlashPrefill.Variant.BASELINE.withPairs(true)));
        return variants;
    }

    /** Runs this benchmark alone: {@code SparseAttentionBenchmark [length...]}. */
    public static void main(String[] args) {
        int[] lengths = args.length == 0 ? new int[] {32768, 131072}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        int status = GpuBench.run(List.of(new SparseAttentionBenchmark(lengths)), System.out);
        if (status != 0) System.exit(status);
    }
}
