package io.minference.bench.gpu;

import io.minference.kernels.samples.TileGemm;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.KernelArgs;
import io.minference.runtime.cuda.LaunchShape;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The DSL's tensor-core tile GEMM ({@link TileGemm}: mma.sync m16n8k16, bf16 in, f32 out) beside cuBLASLt on the
 * same inputs and output type, at size^3, on random data, in TFLOP/s. The two results are compared norm-wise, so a
 * fast but wrong kernel shows itself in the same table.
 */
public final class DslTileGemmBenchmark implements GpuBenchmark {
    /** The tile shapes compared: the sample's 128x128 default, and larger per-warp tiles (64x64 per warp). */
    public static final List<TileGemm> VARIANTS = List.of(TileGemm.bf16(), new TileGemm(128, 256, 64, 2, 4, 3),
            new TileGemm(256, 128, 64, 4, 2, 3), new TileGemm(128, 256, 64, 2, 4, 4));

    private final int size;
    private final List<TileGemm> variants;

    public DslTileGemmBenchmark(int size, List<TileGemm> variants) {
        for (TileGemm gemm : variants) {
            if (size % gemm.blockM() != 0 || size % gemm.blockN() != 0 || size % gemm.blockK() != 0) {
                throw new IllegalArgumentException(size + " is not a multiple of the tile " + gemm);
            }
        }
        this.size = size;
        this.variants = List.copyOf(variants);
    }

    @Override
    public String name() {
        return "DSL tile GEMM " + size + "^3";
    }

    @Override
    public List<Figure> run(CudaBackend backend) {
        SplittableRandom random = new SplittableRandom();
        String shapeText = size + "x" + size + "x" + size;
        double flops = 2.0 * size * size * size;
        List<Figure> figures = new ArrayList<>();
        try (DeviceTensor a = randomBf16(backend, random);
             DeviceTensor b = randomBf16(backend, random);
             DeviceTensor ours = DeviceTensor.allocate(backend.context(), DType.F32, size, size);
             DeviceTensor theirs = DeviceTensor.allocate(backend.context(), DType.F32, size, size)) {
            double blas = flops / (DeviceTimer.medianMillis(backend, 3, 10,
                    () -> backend.gemm().multiply(a, b, theirs, backend.stream())) * 1e-3) / 1e12;
            backend.stream().synchronize();
            figures.add(new Figure("cuBLASLt bf16->f32 " + shapeText, blas, "TFLOP/s"));
            double best = 0;
            for (TileGemm gemm : variants) {
                LaunchShape shape = new LaunchShape(size / gemm.blockN(), size / gemm.blockM(), 1, gemm.threads(), 1, 1);
                Kernel kernel = backend.context().kernel(gemm.emit(backend.device().ptxTarget()), shape);
                try (KernelArgs args = kernel.pack(a, b, ours, size, size, size)) {
                    ours.buffer().fillInts(0x7FC0DEAD);
                    double dsl = flops / (DeviceTimer.medianMillis(backend, 3, 10,
                            () -> kernel.launch(backend.stream(), args)) * 1e-3) / 1e12;
                    backend.stream().synchronize();
                    String tile = gemm.blockM() + "x" + gemm.blockN() + "x" + gemm.blockK() + " s" + gemm.stages();
                    figures.add(new Figure("  DSL tile GEMM " + tile + " " + shapeText, dsl, "TFLOP/s"));
                    figures.add(new Figure("    norm-wise difference from cuBLASLt (0: bit-identical)",
                            relativeDifference(ours, theirs), ""));
                    best = Math.max(best, dsl);
                }
            }
            figures.add(new Figure("DSL tile GEMM best / cuBLASLt " + shapeText, 100 * best / blas, "%"));
            return figures;
        }
    }
    private static double relativeDifference(DeviceTensor ours, DeviceTensor theirs) {
        float[] x = new float[Math.toIntExact(ours.elementCount())];
        float[] y = new float[x.length];
        ours.buffer().copyToHost(MemorySegment.ofArray(x));
        theirs.buffer().copyToHost(MemorySegment.ofArray(y));
        double differenceSq = 0, normSq = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            differenceSq += d * d;
            normSq += (double) y[i] * y[i];
        }
        return Math.sqrt(differenceSq / normSq); // NaN, if any element was left unwritten
    }

    private DeviceTensor randomBf16(CudaBackend backend, SplittableRandom random) {
        short[] values = new short[size * size];
        for (int i = 0; i < values.length; i++) values[i] = BFloat16.fromFloat((float) random.nextDouble(-1, 1));
        DeviceTensor tensor = DeviceTensor.allocate(backend.context(), DType.BF16, size, size);
        tensor.buffer().copyFromHost(MemorySegment.ofArray(values));
        return tensor;
    }
}
