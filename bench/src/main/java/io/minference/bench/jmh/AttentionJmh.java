package io.minference.bench.jmh;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The DSL's flash attention at LLaMA-3-8B's head layout ({@link #SHAPE}: 32 heads, 8 KV heads, d 128), one
 * operation waited for: causal prefill of a whole sequence of {@code length} tokens, and one decode step against a
 * cache of that length, for each prefill family. Inputs are random bf16. {@link GpuJmh} prints prefill as TFLOP/s with causal FLOPs counted
 * as {@code 2 L^2 d H}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionJmh {
    public static final AttentionShape SHAPE = new AttentionShape(32, 8, 128);
    private static final int RANDOM_BLOCK = 1 << 22;

    @Param({"4096", "16384", "32768", "131072"})
    public int length;

    /** The prefill family ({@link PrefillKernel}): auto is the Hopper kernel on sm_90, mma-sync the FA2-class one. */
    @Param({"auto", "mma-sync"})
    public String kernel;

    private CudaBackend backend;
    private FlashAttention flash;
    private DeviceBuffer q;
    private DeviceBuffer k;
    private DeviceBuffer v;
    private DeviceBuffer o;

    /** Causal attention FLOPs of a prefill of {@code length} tokens. */
    public static double prefillFlops(int length) {
        return 2.0 * length * length * SHAPE.headDim() * SHAPE.numHeads();
    }

    @Setup(Level.Trial)
    public void open() {
        backend = GpuSession.open();
        flash = new FlashAttention(backend.context(), SHAPE, PrefillKernel.parse(kernel));
        short[] block = new short[RANDOM_BLOCK];
        SplittableRandom random = new SplittableRandom();
        for (int i = 0; i < block.length; i++) block[i] = BFloat16.fromFloat((float) random.nextDouble(-2, 2));
        q = filled(2L * length * SHAPE.queryDim(), block);
        k = filled(2L * length * SHAPE.kvDim(), block);
        v = filled(2L * length * SHAPE.kvDim(), block);
        o = backend.context().allocate(2L * length * SHAPE.queryDim());
    }

    private DeviceBuffer filled(long bytes, short[] block) {
        DeviceBuffer buffer = backend.context().allocate(bytes);
        long blockBytes = 2L * block.length;
        for (long offset = 0; offset < bytes; offset += blockBytes) {
            long n = Math.min(blockBytes, bytes - offset);
            buffer.slice(offset, n).copyFromHost(MemorySegment.ofArray(block).asSlice(0, n));
        }
        return buffer;
    }

    @TearDown(Level.Trial)
    public void close() {
        o.close();
        v.close();
        k.close();
        q.close();
        flash.close();
        backend.close();
    }

    @Benchmark
    public void prefill() {
        flash.prefill(backend.stream(), q, k, v, o, length, 0);
        backend.stream().synchronize();
    }

    @Benchmark
    public void decode() {
        flash.decode(backend.stream(), q, k, v, o, length);
        backend.stream().synchronize();
    }
}
