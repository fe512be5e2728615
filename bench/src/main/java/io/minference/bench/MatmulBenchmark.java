package io.minference.bench;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU backend's matrix product out[T, N] = x[T, K] · W[N, K]^T on all cores: a prefill block (T = 128) and a
 * decode step (T = 1). GFLOP/s = 2·T·N·K / (time per operation). The weights are F32 by default; a quantized
 * {@code type} reads random blocks with small scales in place ({@link BenchWeights#randomBlocks}), with the AMX int8
 * kernels or without them ({@code amx}; on a CPU without AMX both run the Vector API):
 *
 * <pre>bin/jmh MatmulBenchmark -p weights=8192x2048 -p type=Q8_0,Q4_K -p amx=true,false</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBenchmark {
    /** N×K of the weight matrix: square, and the 8192×2048 shape of an FFN gate of llama3-1b. */
    @Param({"2048x2048", "4096x4096", "8192x2048"})
    public String weights;

    @Param({"128", "1"})
    public int tokens;

    @Param({"F32"})
    public String type;

    @Param({"true"})
    public boolean amx;

    private CpuBackend backend;
    private Tensor x;
    private Tensor w;
    private Tensor out;

    @Setup(Level.Trial)
    public void allocate() {
        String[] nk = weights.split("x");
        int n = Integer.parseInt(nk[0]);
        int k = Integer.parseInt(nk[1]);
        SplittableRandom random = new SplittableRandom(1);
        backend = new CpuBackend(Runtime.getRuntime().availableProcessors(), amx);
        x = BenchWeights.random(random, 1, tokens, k);
        DType weightType = DType.valueOf(type);
        w = weightType == DType.F32 ? BenchWeights.random(random, 1 / Math.sqrt(k), n, k)
                : BenchWeights.randomBlocks(random, weightType, n, k);
        out = Tensor.allocate(DType.F32, tokens, n);
    }

    @Benchmark
    public Tensor matmul() {
        backend.matmul(x, w, out, tokens);
        return out;
    }

    @TearDown(Level.Trial)
    public void free() {
        out.close();
        w.close();
        x.close();
        backend.close();
    }
}
