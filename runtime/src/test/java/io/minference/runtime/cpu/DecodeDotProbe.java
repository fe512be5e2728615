package io.minference.runtime.cpu;

import io.minference.runtime.DType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The arithmetic cost of the decode product's inner loop, apart from the memory's: the float loop
 * ({@link FusedMatvec}) and, for Q8_0 and Q4_0, the integer loop ({@link IntegerMatvec}, x quantized each time as
 * in a product) on 256 rows × 2048 of a block type (in L2), one thread, timed in thread CPU time so that other
 * processes on a shared machine slow the figures less. A main, not a test:
 *
 * <pre>java --add-modules jdk.incubator.vector -cp runtime/target/classes:runtime/target/test-classes \
 *     io.minference.runtime.cpu.DecodeDotProbe Q8_0 [ROWS K]</pre>
 * (256 rows of 2048 unless given: rows × k should stay in the caches).
 *
 * If a loop's bytes per CPU-second on one core, times the cores, is below the memory's bandwidth, decode is bound by
 * the arithmetic, not the memory.
 */
public final class DecodeDotProbe {
    private DecodeDotProbe() {
    }

    public static void main(String[] args) {
        DType type = DType.valueOf(args.length > 0 ? args[0] : "Q8_0");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
        int reps = 200;
        long seed = 1;
        SplittableRandom random = new SplittableRandom(seed);
        MemorySegment w = Arena.ofAuto().allocate((long) n * type.byteSize(k), 64);
        for (long i = 0; i < w.byteSize(); i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        // small F16 scales where each block's scales are, so that no block holds an infinity
        long scaleAt = type == DType.Q6_K ? 208 : 0;
        int scales = type == DType.Q4_K || type == DType.Q5_K ? 2 : 1;
        for (long b = 0; b < w.byteSize(); b += type.blockBytes()) {
            for (int i = 0; i < scales; i++) {
                w.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + scaleAt + 2 * i,
                        Float.floatToFloat16((float) random.nextDouble(0, 0.01)));
            }
        }
        MemorySegment x = Arena.ofAuto().allocate(4L * k, 64), out = Arena.ofAuto().allocate(4L * n, 64);
        for (int i = 0; i < k; i++) x.set(ValueLayout.JAVA_FLOAT, 4L * i, (float) random.nextDouble(-1, 1));
        MemorySegment q = Arena.ofAuto().allocate(IntegerMatvec.quantizedBytes(k), 64);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double blocks = (double) reps * n * k / 32;
        System.out.println(type + " " + n + " × " + k + ", one thread, seed " + seed);
        for (int round = 0; round < 12; round++) {
            long t0 = cpu.getCurrentThreadCpuTime();
            for (int r = 0; r < reps; r++) FusedMatvec.rows(type, x, w, type.byteSize(k), out, 0, n, k);
            long t1 = cpu.getCurrentThreadCpuTime();
            for (int r = 0; IntegerMatvec.handles(type) && r < reps; r++) {
                IntegerMatvec.quantize(x, k, q);
                IntegerMatvec.rows(type, q, w, type.byteSize(k), out, 0, n, k);
            }
            long t2 = cpu.getCurrentThreadCpuTime();
            String integer = IntegerMatvec.handles(type) ? String.format(Locale.ROOT, "%.2f ns (%.1f GB/s)",
                    (t2 - t1) / blocks, reps * w.byteSize() / (double) (t2 - t1)) : "n/a";
            System.out.printf(Locale.ROOT, "round %2d: float %.2f ns per 32 weights (%.1f GB/s), integer %s per 32, "
                            + "load average %s%n", round, (t1 - t0) / blocks, reps * w.byteSize() / (double) (t1 - t0),
                    integer, loadAverage());
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).substring(0, 14);
        } catch (IOException e) {
            return "n/a";
        }
    }
}
