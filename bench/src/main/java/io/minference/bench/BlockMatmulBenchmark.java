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
 * The CPU backend's product on quantized weights read in place, out[T, N] = x[T, K] · W[N, K]^T on all cores, with
 * the AMX int8 kernels and without (the Vector API products): a 128-token prefill block and a decode step, on the
 * 8192 × 2048 shape of llama3-1b's FFN gate. GMAC/s = T·N·K / (time per operation). The weights are random blocks
 * with small scales ({@link BenchWeights#randomBlocks}); on a CPU without AMX both settings run the Vector API.
 *
 * <pre>bin/jmh BlockMatmulBenchmark -p type=Q8_0,Q4_K -p amx=true,false -p tokens=128</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BlockMatmulBenchmark {
    @Param({"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"true", "false"})
    public boolean amx;

    @Param({"128", "1"})
    public int tokens;

    @Param({"8192x2048"})
    public String weights;

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
        w = BenchWeights.randomBlocks(random, DType.valueOf(type), n, k);
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
