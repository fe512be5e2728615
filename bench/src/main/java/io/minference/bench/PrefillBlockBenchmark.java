package io.minference.bench;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaWeights;
import io.minference.llama.forward.LlamaForward;
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
 * One prefill block through one transformer layer of llama3-1b's shape (dim 2048, FFN 8192, 32 heads, 8 KV heads),
 * random weights, at position 0: projections, RoPE, attention over the block, MLP. The layer's matrix products
 * cost 2 · block · 60.8M FLOP (15.6 GFLOP for 128 tokens).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PrefillBlockBenchmark {
    @Param({"128"})
    public int block;

    private CpuBackend backend;
    private LlamaWeights weights;
    private LlamaForward forward;
    private int[] tokens;

    @Setup(Level.Trial)
    public void allocate() {
        LlamaConfig config = new LlamaConfig(2048, 8192, 1, 32, 8, 256, block, 500000f, 1e-5f);
        backend = new CpuBackend();
        weights = BenchWeights.llama(config, 1);
        forward = new LlamaForward(config, weights, backend, block, block);
        tokens = new SplittableRandom(2).ints(block, 0, config.vocabSize()).toArray();
    }

    @Benchmark
    public int prefillBlock() {
        forward.rewind(0);
        forward.forwardBlock(tokens, 0, block);
        return forward.position();
    }

    @TearDown(Level.Trial)
    public void free() {
        forward.close();
        weights.close();
        backend.close();
    }
}
