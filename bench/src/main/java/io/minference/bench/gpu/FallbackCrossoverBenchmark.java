package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.sparse.DenseFallback;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.DeviceSparseIndex;
import io.minference.sparse.gpu.SparseFlashAttention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Where {@link DenseFallback} should start: the sparse kernel over indices of a controlled key-tile share against
 * the dense flash kernel, at LLaMA-3-8B's head layout (32 heads, 8 KV heads, d 128), random bf16 inputs. Each head's
 * query block keeps every earlier key block with probability p (its own block always); each run of kept blocks
 * becomes a range shifted left by a random 0..63 keys (ranges start anywhere, as exact slash ranges do), and the
 * first key of an unkept block becomes a gathered column with probability {@code min(1, 1000 / query blocks)} (about
 * the default budget's 1000 columns). For each p: the tile share (index tiles over causal tiles), the sparse and
 * dense kernel times (CUDA-event medians of 4 rounds, warm-up first, the two alternating which runs first:
 * {@link DeviceTimer#rotatingMedians}) and their ratio; then the shares where the sparse
 * kernel reaches the dense time and 0.97 of it, by linear interpolation. Estimation is paid before the decision
 * whichever way it goes, so the fallback compares the kernels alone; the crossover is the setting for
 * {@link DenseFallback}'s share.
 */
public final class FallbackCrossoverBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    private static final double[] KEEP = {0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

    private final int[] lengths;

    public FallbackCrossoverBenchmark(int... lengths) {
        this.lengths = lengths.clone();
    }

    @Override
    public String name() {
        return "dense fallback crossover (32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        short[] block = FlashAttentionBenchmark.randomBf16(new SplittableRandom(7));
        try (FlashAttention flash = new FlashAttention(backend.context(), SHAPE);
             SparseFlashAttention sparse = new SparseFlashAttention(backend.context(), SHAPE)) {
            for (int length : lengths) {
                try (PromptBuffers buffers = PromptBuffers.random(backend, SHAPE, length, block)) {
                    DeviceBuffer q = buffers.q(), k = buffers.k(), v = buffers.v(), o = buffers.o();
                    Runnable denseLaunch = () -> flash.prefill(backend.stream(), q, k, v, o, length, 0);
                    double[] shares = new double[KEEP.length], ratios = new double[KEEP.length];
                    System.out.println("| L | keep p | tile share | sparse kernel | dense flash | sparse / dense |");
                    System.out.println("| --- | --- | --- | --- | --- | --- |");
                    for (int i = 0; i < KEEP.length; i++) {
                        SparseIndex host = index(length, KEEP[i], 42 + i);
                        shares[i] = (double) SyntheticVerticalSlash.keyTiles(host)
                                / (SparseIndex.causalTiles(length) * SHAPE.numHeads());
                        double[] medians;
                        try (DeviceSparseIndex index = DeviceSparseIndex.upload(backend.context(), host)) {
                            medians = DeviceTimer.rotatingMedians(backend, 1, 3, List.of(
                                    () -> sparse.launch(backend.stream(), q, k, v, o, index), denseLaunch));
                        }
                        double millis = medians[0], dense = medians[1];
                        ratios[i] = millis / dense;
                        System.out.printf("| %dK | %.2f | %.3f | %.2f ms | %.2f ms | %.3f |%n", length / 1024, KEEP[i],
                                shares[i], millis, dense, ratios[i]);
                        figures.add(new Figure("L=" + length + " share " + "%.3f".formatted(shares[i])
                                + " sparse / dense", ratios[i], "x"));
                    }
                    for (double target : new double[] {1.0, 0.97}) {
                        double crossing = crossing(shares, ratios, target);
                        System.out.printf("L=%d: the sparse kernel reaches %.2f of the dense time at a tile share of"
                                + " %.3f%n", length, target, crossing);
                        figures.add(new Figure("L=" + length + " share at sparse = " + target + " dense", crossing,
                                ""));
                    }
                }
            }
        }
        return figures;
    }

    /** The first share where the ratio reaches {@code target}, interpolated; the last share if it never does. */
    static double crossing(double[] shares, double[] ratios, double target) {
        for (int i = 1; i < shares.length; i++) {
            if (ratios[i] >= target && ratios[i - 1] < target) {
                double t = (target - ratios[i - 1]) / (ratios[i] - ratios[i - 1]);
                return shares[i - 1] + t * (shares[i] - shares[i - 1]);
            }
        }
        return ratios[0] >= target ? shares[0] : shares[shares.length - 1];
    }

    /** The index described above, all heads, seeded. */
    static SparseIndex index(int length, double keep, long seed) {
        int blocks = SparseIndex.queryBlocks(length);
        double columnRate = Math.min(1.0, 1000.0 / blocks);
        SparseIndex index = new SparseIndex(0, SHAPE.numHeads(), length, (blocks + 1) / 2 + 1, blocks);
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom[] perHead = new SplittableRandom[SHAPE.numHeads()];
        for (int h = 0; h < perHead.length; h++) perHead[h] = root.split();
        IntStream.range(0, SHAPE.numHeads()).parallel().forEach(h -> {
            SplittableRandom random = perHead[h];
            for (int b = 0; b < blocks; b++) {
                int m1 = index.blockEnd(b);
                boolean[] kept = new boolean[b + 1];
                for (int c = 0; c < b; c++) kept[c] = random.nextDouble() < keep;
                kept[b] = true;
                for (int c = 0; c <= b; c++) {
                    if (!kept[c]) continue;
                    int c1 = c;
                    while (c1 + 1 <= b && kept[c1 + 1]) c1++;
                    int shift = c == 0 ? 0 : random.nextInt(64);
                    index.addRange(h, b, 64 * c - shift, Math.min(64 * (c1 + 1) - shift, m1));
                    c = c1;
                }
                // The first key of an unkept block c lies in no range: a run of blocks [c0, c1] covers keys
                // [64 c0 - shift, 64 (c1 + 1) - shift) with shift < 64, and c is below c0 or above c1. Written
                // straight into the flat arrays (addColumn checks every range, too slow at 128K).
                int slot = h * blocks + b;
                int n = 0;
                for (int c = 0; c < b; c++) {
                    if (!kept[c] && random.nextDouble() < columnRate) index.columnArray()[slot * blocks + n++] = 64 * c;
                }
                index.columnCountArray()[slot] = n;
            }
        });
        return index;
    }

    /** {@code FallbackCrossoverBenchmark [length...]} (default 32K and 128K). */
    public static void main(String[] args) {
        int[] lengths = args.length == 0 ? new int[] {32768, 131072}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        int status = GpuBench.run(List.of(new FallbackCrossoverBenchmark(lengths)), System.out);
        if (status != 0) System.exit(status);
    }
}
