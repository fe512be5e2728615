package io.minference.app;

import io.minference.bench.GpuBench;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import picocli.CommandLine.Command;

/** Measures the GPU's ceilings and the DSL kernels against them, through the project's own CUDA runtime. */
@Command(name = "gpu-bench", mixinStandardHelpOptions = true,
        description = "Measures the GPU: copy bandwidth, the DSL bandwidth kernel, kernel launch overhead (eager and"
                + " from a CUDA graph), cuBLASLt and DSL tile GEMM TFLOP/s. Needs an NVIDIA GPU.")
final class GpuBenchCommand extends CliCommand {

    @Override
    int run() {
        Optional<String> missing = GpuBench.missingGpu();
        if (missing.isPresent()) throw new IllegalStateException("gpu-bench needs a CUDA GPU: " + missing.get());
        try (PrintStream lines = new PrintStream(new LineForwarder(out()), true, StandardCharsets.UTF_8)) {
            return GpuBench.run(GpuBench.benchmarks(), lines);
        }
    }

    /** Hands complete UTF-8 lines to the command's writer, so output stays capturable by picocli's setOut. */
    private static final class LineForwarder extends OutputStream {
        private final PrintWriter target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineForwarder(PrintWriter target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            line.write(b);
            if (b == '\n') flush();
        }

        @Override
        public void flush() {
            target.write(line.toString(StandardCharsets.UTF_8));
            target.flush();
            line.reset();
        }
    }
}
