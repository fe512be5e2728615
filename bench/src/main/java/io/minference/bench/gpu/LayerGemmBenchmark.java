package io.minference.bench.gpu;

import io.minference.bench.GpuBench;
import io.minference.kernels.transformer.SyntheticWeightsKernel;
import io.minference.llama.LlamaConfig;
import io.minference.llama.gpu.GpuLlamaWeights;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * cuBLASLt's rate on the GEMMs of one transformer layer as the GPU forward runs them, at several token counts per
 * GEMM (the prefill's chunk): the fused QKV projection, the output projection added into an f32 residual stream
 * (beta = 1), the fused gate/up projection and the down projection added into the stream. It says which chunk keeps
 * the linear layers at cuBLASLt's rate, and what the beta = 1 epilogue costs against a plain f32 output. Inputs are
 * uniform random bf16 values made on the device.
 */
public final class LayerGemmBenchmark implements GpuBenchmark {
    /** The prefill's default chunk (GpuLlamaForward.DEFAULT_CHUNK_SIZE) and larger ones. */
    public static final List<Integer> TOKEN_COUNTS = List.of(2048, 4096, 8192, 16384);
    private static final SyntheticWeightsKernel FILL = new SyntheticWeightsKernel(DType.BF16);
    private final LlamaConfig config;
    private final String modelName;
    private final List<Integer> tokenCounts;

    /**
     * @param config      the model whose layer shapes are measured
     * @param modelName   its name in the figures
     * @param tokenCounts rows of the activations (M) to measure
     */
    public LayerGemmBenchmark(LlamaConfig config, String modelName, List<Integer> tokenCounts) {
        this.config = config;
        this.modelName = modelName;
        this.tokenCounts = List.copyOf(tokenCounts);
    }

    @Override
    public String name() {
        return modelName + " layer GEMMs";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        int dim = config.dim();
        int qDim = config.numHeads() * config.headDim();
        int qkvDim = qDim + 2 * config.kvDim();
        int hidden = GpuLlamaWeights.paddedHidden(config);
        int maxRows = tokenCounts.stream().mapToInt(Integer::intValue).max().orElseThrow();
        List<Figure> figures = new ArrayList<>();
        try (DeviceTensor wqkv = random(backend, qkvDim, dim, 1);
             DeviceTensor wo = random(backend, dim, qDim, 2);
             DeviceTensor wGateUp = random(backend, 2 * hidden, dim, 3);
             DeviceTensor wDown = random(backend, dim, hidden, 4);
             DeviceTensor normed = random(backend, maxRows, dim, 5);
             DeviceTensor attended = random(backend, maxRows, qDim, 6);
             DeviceTensor gated = random(backend, maxRows, hidden, 7);
             DeviceTensor qkv = DeviceTensor.allocate(backend.context(), DType.BF16, maxRows, qkvDim);
             DeviceTensor gateUp = DeviceTensor.allocate(backend.context(), DType.BF16, maxRows, 2L * hidden);
             DeviceTensor residual = DeviceTensor.allocate(backend.context(), DType.F32, maxRows, dim)) {
            residual.buffer().fillBytes((byte) 0);
            for (int m : tokenCounts) {
                DeviceTensor x = rows(residual, m);
                double layerMillis = 0, layerFlops = 0;
                Step[] steps = {
                        new Step("QKV", rows(normed, m), wqkv, rows(qkv, m), false),
                        new Step("O (+= f32)", rows(attended, m), wo, x, true),
                        new Step("gate/up", rows(normed, m), wGateUp, rows(gateUp, m), false),
                        new Step("down (+= f32)", rows(gated, m), wDown, x, true),
                };
                for (Step step : steps) {
                    double millis = step.time(backend);
                    double flops = 2.0 * m * step.weights().dim(0) * step.weights().dim(1);
                    layerMillis += millis;
                    layerFlops += flops;
                    figures.add(new Figure(String.format("%s %s GEMM, M=%d", modelName, step.name(), m),
                            flops / (millis * 1e-3) / 1e12, "TFLOP/s"));
                }
                figures.add(new Figure(String.format("%s layer's four GEMMs, M=%d", modelName, m),
                        layerFlops / (layerMillis * 1e-3) / 1e12, "TFLOP/s"));
                // the output projection into its own f32 buffer, as before the residual add moved into cuBLASLt
                try (DeviceTensor out = DeviceTensor.allocate(backend.context(), DType.F32, m, dim)) {
                    Step plain = new Step("O (f32 out)", rows(attended, m), wo, out, false);
                    figures.add(new Figure(String.format("%s O (f32 out, no accumulation) GEMM, M=%d", modelName,
                            m), 2.0 * m * dim * qDim / (plain.time(backend) * 1e-3) / 1e12, "TFLOP/s"));
                }
            }
        }
        return figures;
    }

    private record Step(String name, DeviceTensor input, DeviceTensor weights, DeviceTensor output,
                        boolean accumulate) {
        /** Median milliseconds of the GEMM, 5 warm-ups then 20 timed runs. */
        double time(CudaBackend backend) {
            return DeviceTimer.medianMillis(backend, 5, 20, () -> {
                if (accumulate) {
                    backend.gemm().multiplyAccumulate(input, weights, output, backend.stream());
                } else {
                    backend.gemm().multiply(input, weights, output, backend.stream());
                }
            });
        }
    }

    private static DeviceTensor rows(DeviceTensor t, int count) {
        return t.view(0, count, t.dim(1));
    }

    /** A [rows, cols] bf16 matrix of uniform values in [-1/16, 1/16), made on the device from {@code key}. */
    private static DeviceTensor random(CudaBackend backend, long rows, long cols, long key) {
        DeviceTensor t = DeviceTensor.allocate(backend.context(), DType.BF16, rows, cols);
        FILL.launch(backend.stream(), t, 0, key, 0x1p-4f, 0f);
        return t;
    }

    /** synthetic:llama3-8b's layer GEMMs at the token counts given as arguments (default {@link #TOKEN_COUNTS}). */
    public static void main(String[] args) {
        List<Integer> counts = args.length == 0 ? TOKEN_COUNTS
                : Arrays.stream(args).map(Integer::valueOf).toList();
        int status = GpuBench.run(List.of(llama3of8b(counts)), System.out);
        if (status != 0) System.exit(status);
    }

    /** The benchmark of synthetic:llama3-8b's layer shapes. */
    public static LayerGemmBenchmark llama3of8b(List<Integer> tokenCounts) {
        return new LayerGemmBenchmark(SyntheticShape.parse("llama3-8b").config(), "llama3-8b", tokenCounts);
    }
}
