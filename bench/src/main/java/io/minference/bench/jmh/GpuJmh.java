package io.minference.bench.jmh;

import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaDriver;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.PrintStream;
import java.util.Collection;

/**
 * Runs the GPU JMH benchmarks of this package (JMH command-line options pass through, e.g. {@code -i 10}), then
 * prints each result as the rate it stands for: GB/s for copies, TFLOP/s for GEMMs and attention prefill, microseconds per launch. Where
 * no GPU is usable it prints why and exits with status 2, without starting JMH.
 */
public final class GpuJmh {
    private GpuJmh() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        int status = run(args, System.out);
        if (status != 0) System.exit(status);
    }

    /** Runs the benchmarks and prints their rates to {@code out}; returns a process exit status. */
    public static int run(String[] args, PrintStream out) throws RunnerException, CommandLineOptionException {
        CudaAvailability availability = CudaDriver.availability();
        if (!availability.available()) {
            out.println("GPU JMH benchmarks skipped: " + availability.reason());
            return 2;
        }
        CommandLineOptions given = new CommandLineOptions(args);
        ChainedOptionsBuilder options = new OptionsBuilder().parent(given);
        if (given.getIncludes().isEmpty()) options.include(GpuJmh.class.getPackageName() + "\\..*Jmh\\.");
        if (!given.getWarmupIterations().hasValue()) options.warmupIterations(2);
        if (!given.getWarmupTime().hasValue()) options.warmupTime(TimeValue.seconds(1));
        if (!given.getMeasurementIterations().hasValue()) options.measurementIterations(3);
        if (!given.getMeasurementTime().hasValue()) options.measurementTime(TimeValue.seconds(1));
        printRates(new Runner(options.build()).run(), out);
        return 0;
    }

    static void printRates(Collection<RunResult> results, PrintStream out) {
        out.println();
        out.println("GPU JMH results as rates:");
        for (RunResult result : results) {
            String benchmark = result.getParams().getBenchmark();
            String name = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
            double score = result.getPrimaryResult().getScore();
            String unit = result.getPrimaryResult().getScoreUnit();
            if (benchmark.contains(".CopyJmh.")) {
                out.printf("%-28s %10.1f GB/s (read+write, %d MiB)%n", name,
                        2.0 * CopyJmh.BYTES / (score * 1e-3) / 1e9, CopyJmh.BYTES >> 20);
            } else if (benchmark.contains(".GemmJmh.")) {
                double flops = 2.0 * GemmJmh.SIZE * GemmJmh.SIZE * GemmJmh.SIZE;
                out.printf("%-28s %10.1f TFLOP/s (%d^3 bf16 -> f32)%n", name, flops / (score * 1e-3) / 1e12,
                        GemmJmh.SIZE);
            } else if (benchmark.contains(".AttentionJmh.prefill")) {
                int length = Integer.parseInt(result.getParams().getParam("length"));
                out.printf("%-28s %10.1f TFLOP/s (causal, L=%d, %s, %.3f ms)%n", name,
                        AttentionJmh.prefillFlops(length) / (score * 1e-3) / 1e12, length,
                        result.getParams().getParam("kernel"), score);
            } else if (benchmark.contains(".AttentionJmh.")) {
                out.printf("%-28s %10.1f us (L=%s)%n", name, score * 1e3, result.getParams().getParam("length"));
            } else {
                out.printf("%-28s %10.3f %s%n", name, score, unit);
            }
        }
    }
}
