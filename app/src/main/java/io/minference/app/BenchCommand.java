package io.minference.app;

import io.minference.llama.LlamaModel;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.Generator;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.Backends;
import io.minference.runtime.cpu.CpuBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main benchmark: prefill latency of prompts of given lengths, then a few decode steps, one row per length.
 * Prompts are seeded random token ids, so any model works and no text is needed.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures prefill seconds and tokens/s per prompt length, decode tokens/s after it, and peak"
                + " memory. Without --model it runs synthetic:tiny at 4k tokens on the CPU.")
final class BenchCommand extends CliCommand {
    static final String DEFAULT_MODEL = "synthetic:tiny";
    static final List<Integer> DEFAULT_LENGTHS = List.of(4096);

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (default: " + DEFAULT_MODEL + ").")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    java.nio.file.Path tokenizer;

    @Option(names = "--lengths", paramLabel = "N[,N...]", converter = TokenLengths.class,
            description = "Prompt lengths in tokens, k = 1024 (default: 4k).")
    List<Integer> lengths;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "16",
            description = "Decode steps timed after each prefill (default: ${DEFAULT-VALUE}; 0 skips decode).")
    int decodeTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the random prompts.")
    long seed;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Override
    int run() throws IOException {
        if (decodeTokens < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--decode-tokens': must be 0 or more, got " + decodeTokens);
        }
        var settings = settings(new io.minference.config.ConfigOverrides(model, tokenizer, device, null, null, null,
                null, null, null));
        String modelName = settings.model() != null ? settings.model() : DEFAULT_MODEL;
        Inputs.requireModel(modelName);
        List<Integer> promptLengths = lengths != null ? lengths : DEFAULT_LENGTHS;

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             CpuBackend backend = Backends.selectCpuOnly(settings.device(), "the LLaMA forward pass");
             LlamaModel loaded = ModelLoader.load(modelName, settings.tokenizer(), progress)) {
            int context = loaded.config().contextLength();
            for (int length : promptLengths) {
                if (length + decodeTokens > context) {
                    throw new IllegalArgumentException("length " + length + " plus " + decodeTokens
                            + " decode tokens does not fit the model's context of " + context + " tokens");
                }
            }
            LlamaModel benchModel = new LlamaModel(loaded.source(), loaded.config(), loaded.weights(),
                    new NoStopTokenizer(loaded.tokenizer()));
            out.printf(Locale.ROOT, "model %s on %s (%d threads)%n", modelName, backend.name(), backend.threads());
            out.printf(Locale.ROOT, "%10s %12s %14s %14s %12s%n", "tokens", "prefill s", "prefill tok/s",
                    "decode tok/s", "peak RSS");
            out.flush();
            for (int length : promptLengths) {
                GenerationResult r;
                try (Generator generator = new Generator(benchModel, backend, null,
                        settings.prefill().blockSize())) {
                    r = generator.generate(randomPrompt(length, loaded.tokenizer().bos(), loaded.config().vocabSize()),
                            decodeTokens, SamplingOptions.GREEDY, id -> { }, progress);
                }
                out.printf(Locale.ROOT, "%10d %12.3f %14.1f %14s %12s%n", length, r.prefillNanos() / 1e9,
                        r.prefillTokensPerSecond(),
                        decodeTokens == 0 ? "-" : String.format(Locale.ROOT, "%.1f", r.decodeTokensPerSecond()),
                        PeakMemory.residentBytes().stream().mapToObj(BenchCommand::gib).findFirst().orElse("n/a"));
                out.flush();
            }
        }
        return 0;
    }

    private int[] randomPrompt(int length, int bos, int vocab) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[length];
        ids[0] = bos;
        for (int i = 1; i < length; i++) ids[i] = random.nextInt(vocab);
        return ids;
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
