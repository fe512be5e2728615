package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.ptx.PtxTarget;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The DSL's flash attention at LLaMA-3-8B's head layout (32 heads, 8 KV heads, d = 128): causal prefill of whole
 * sequences in TFLOP/s (causal FLOPs counted as 2 L^2 d H, as FlashAttention's papers count them) and ms, for every
 * prefill family the device runs (on sm_90 the Hopper kernel and the mma.sync one, in alternating order per length,
 * each warmed up), and split-K decode of one token against the same cache lengths, in microseconds and GB/s of K and
 * V read. Inputs are random bf16 (a block of random values repeated over the tensors), medians of a few event-timed
 * repeats, each of several back-to-back launches at short lengths; the host's time to queue one prefill is printed
 * beside it. The floor: 2 L^2 d H FLOPs over the bf16 tensor-core peak (about 990 TFLOP/s dense on an H100/H200).
 */
public final class FlashAttentionBenchmark implements GpuBenchmark {
    private static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    private static final int RANDOM_BLOCK = 1 << 22;

    private final int[] lengths;

    public FlashAttentionBenchmark(int... lengths) {
        this.lengths = lengths.clone();
    }

    /** 4K, 16K, 32K and 128K tokens. */
    public FlashAttentionBenchmark() {
        this(4096, 16384, 32768, 131072);
    }

    @Override
    public String name() {
        return "flash attention (32 heads, 8 KV heads, d 128)";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        List<Figure> figures = new ArrayList<>();
        short[] block = randomBf16(new SplittableRandom());
        List<PrefillKernel> families = new ArrayList<>(List.of(PrefillKernel.MMA_SYNC));
        if (backend.device().runs(PtxTarget.SM_90A)) families.addFirst(PrefillKernel.HOPPER);
        List<FlashAttention> kernels = new ArrayList<>();
        try {
            for (PrefillKernel family : families) kernels.add(new FlashAttention(backend.context(), SHAPE, family));
            for (int i = 0; i < lengths.length; i++) {
                int length = lengths[i];
                long qBytes = 2L * length * SHAPE.queryDim();
                long kvBytes = 2L * length * SHAPE.kvDim();
                try (DeviceBuffer q = filled(backend, qBytes, block);
                     DeviceBuffer k = filled(backend, kvBytes, block);
                     DeviceBuffer v = filled(backend, kvBytes, block);
                     DeviceBuffer o = backend.context().allocate(qBytes)) {
                    int repeats = length >= 65536 ? 3 : 7;
                    double flops = 2.0 * length * length * SHAPE.headDim() * SHAPE.numHeads();
                    // alternate which family runs first, so neither always inherits the other's clocks and L2
                    List<FlashAttention> order = new ArrayList<>(kernels);
                    if (i % 2 == 1) order = order.reversed();
                    // short prompts: many launches back to back per timed repeat, and enough warm-up for the JIT to
                    // compile the host path, so that the host's per-call work is not what is timed
                    int launches = length <= 4096 ? 20 : length <= 16384 ? 4 : 1;
                    int warmups = length <= 16384 ? 20 : 2;
                    for (FlashAttention flash : order) {
                        Runnable prefill = () -> flash.prefill(backend.stream(), q, k, v, o, length, 0);
                        double millis = DeviceTimer.medianMillisPerLaunch(backend, warmups, repeats, launches,
                                prefill);
                        String label = "flash prefill causal L=" + length + " (" + flash.prefillKernelName() + ")";
                        figures.add(new Figure(label, flops / (millis * 1e-3) / 1e12, "TFLOP/s"));
                        figures.add(new Figure(label, millis, "ms"));
                        figures.add(new Figure(label + " host enqueue", hostMicros(backend, prefill), "us"));
                    }
                    FlashAttention flash = kernels.getFirst();
                    double decodeMillis = DeviceTimer.medianMillis(backend, 3, 20,
                            () -> flash.decode(backend.stream(), q, k, v, o, length));
                    figures.add(new Figure("flash decode split-K L=" + length, decodeMillis * 1e3, "us"));
                    figures.add(new Figure("flash decode split-K L=" + length + " (K+V read)",
                            2.0 * kvBytes / (decodeMillis * 1e-3) / 1e9, "GB/s"));
                }
            }
        } finally {
            kernels.forEach(FlashAttention::close);
        }
        return figures;
    }

    /** Median host time of one call of {@code work} (queuing only; the stream is drained between calls). */
    static double hostMicros(CudaBackend backend, Runnable work) {
        double[] micros = new double[9];
        for (int i = 0; i < micros.length; i++) {
            backend.stream().synchronize();
            long start = System.nanoTime();
            work.run();
            micros[i] = (System.nanoTime() - start) / 1e3;
        }
        backend.stream().synchronize();
        return DeviceTimer.median(micros);
    }

    static short[] randomBf16(SplittableRandom random) {
        short[] values = new short[RANDOM_BLOCK];
        for (int i = 0; i < values.length; i++) values[i] = BFloat16.fromFloat((float) random.nextDouble(-2, 2));
        return values;
    }

    static DeviceBuffer filled(CudaBackend backend, long bytes, short[] block) {
        return fill(backend.context().allocate(bytes), block);
    }

    /** {@code buffer} filled with {@code block} repeated (the last copy cut short), for random-looking inputs. */
    static DeviceBuffer fill(DeviceBuffer buffer, short[] block) {
        long bytes = buffer.byteSize();
        long blockBytes = 2L * block.length;
        for (long offset = 0; offset < bytes; offset += blockBytes) {
            long n = Math.min(blockBytes, bytes - offset);
            buffer.slice(offset, n).copyFromHost(MemorySegment.ofArray(block).asSlice(0, n));
        }
        return buffer;
    }

    /** Runs this benchmark alone: {@code FlashAttentionBenchmark [length...]}. */
    public static void main(String[] args) {
        int[] lengths = args.length == 0 ? new int[] {4096, 16384, 32768, 131072}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        int status = GpuBench.run(List.of(new FlashAttentionBenchmark(lengths)), System.out);
        if (status != 0) System.exit(status);
    }
}
