package io.minference.bench;

import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.cpu.CpuBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The decode step's floor and where it stands: the memory bandwidth of a plain vector read of a buffer larger than
 * any cache, on the backend's threads, beside the quantized matrix-vector product over the same number of weight
 * bytes. A 1B-shaped Q8_0 decode reads about 1.3 GB of weights per token, so its floor is 1.3 GB over that bandwidth.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp ... io.minference.bench.QuantMatvecBenchmark [TYPE] [N] [K] [ROUNDS]</pre>
 *
 * Defaults: Q8_0, 8192 × 2048 (llama3-1b's FFN), 20 rounds; the weights are 32 such matrices (as many bytes as
 * the FFN of 11 layers), so that each product reads from memory, not from the cache.
 */
public final class QuantMatvecBenchmark {
    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;

    private QuantMatvecBenchmark() {
    }

    public static void main(String[] args) {
        DType type = DType.valueOf(args.length > 0 ? args[0] : "Q8_0");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        int matrices = 32;
        SplittableRandom random = new SplittableRandom(1);
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofShared()) {
            long matrixBytes = (long) n * type.byteSize(k);
            MemorySegment all = arena.allocate(matrixBytes * matrices, 64);
            for (long i = 0; i < all.byteSize(); i += 8) all.set(ValueLayout.JAVA_LONG, i, random.nextLong());
            // small F16 scales at each block's start, so no block holds an infinity
            if (type == DType.Q8_0 || type == DType.Q4_0) {
                for (long b = 0; b < all.byteSize(); b += type.blockBytes()) {
                    all.set(ValueLayout.JAVA_SHORT_UNALIGNED, b, Float.floatToFloat16((float) random.nextDouble(-0.05, 0.05)));
                }
            }
            Tensor x = BenchWeights.random(random, 1, 1, k);
            Tensor out = Tensor.allocate(DType.F32, 1, n);
            Tensor[] w = new Tensor[matrices];
            for (int m = 0; m < matrices; m++) w[m] = Tensor.wrap(type, all.asSlice(m * matrixBytes, matrixBytes), n, k);
            System.out.printf(Locale.ROOT, "%s %d x %d, %d threads, %.2f GB of weights per round, load average %s%n",
                    type, n, k, backend.threads(), all.byteSize() / 1e9, loadAverage());
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                double sum = bandwidth(backend, all);
                long t1 = System.nanoTime();
                for (Tensor m : w) backend.matmul(x, m, out, 1);
                long t2 = System.nanoTime();
                System.out.printf(Locale.ROOT, "round %2d: read %.1f GB/s (%s), matvec %.1f GB/s of weights, %.2f ms per 1.3 GB%n",
                        r, all.byteSize() / (double) (t1 - t0), sum == 0.5 ? "?" : "ok",
                        all.byteSize() / (double) (t2 - t1), 1.3e9 / all.byteSize() * (t2 - t1) / 1e6);
            }
            System.out.println("load average " + loadAverage());
        }
    }

    /** Sums the buffer as longs on all the backend's threads: a read the memory, not the arithmetic, limits. */
    private static double bandwidth(CpuBackend backend, MemorySegment all) {
        int items = 64;
        long chunk = all.byteSize() / items / 64 * 64;
        DoubleAdder total = new DoubleAdder();
        backend.parallelFor(items, i -> {
            LongVector acc = LongVector.zero(LONGS);
            long end = (i + 1) * chunk;
            for (long at = i * chunk; at < end; at += LONGS.vectorByteSize()) {
                acc = acc.add(LongVector.fromMemorySegment(LONGS, all, at, ByteOrder.LITTLE_ENDIAN));
            }
            total.add(acc.reduceLanes(VectorOperators.ADD));
        });
        return total.sum();
    }

    /** The first three fields of /proc/loadavg, or "n/a". */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).substring(0, 14);
        } catch (IOException e) {
            return "n/a";
        }
    }
}
