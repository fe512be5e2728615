package io.minference.app;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.sparse.HeadAccuracy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How faithful the sparse patterns are on real attention: a dense prefill of the text on the CPU, during which each
 * chosen layer's queries, keys and values go to {@link HeadAccuracy#measure} with that layer's patterns.
 */
@Command(name = "recall", mixinStandardHelpOptions = true,
        description = "Per head: the density of the sparse index, the attention mass it keeps (recall) and the"
                + " output error against dense attention, on a model's real attention over a text.")
final class RecallCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE", required = true,
            description = "The text (UTF-8, plain or compressed); its first --length tokens are used.")
    Path text;

    @Option(names = "--length", paramLabel = "N", converter = TokenLengths.One.class,
            description = "Tokens, BOS included, k = 1024 (default: 4k, or the model's context if shorter).")
    Integer length;

    @Option(names = "--layer", paramLabel = "L", description = "The layer to measure (default: every layer).")
    Integer layer;

    @Option(names = "--attention", paramLabel = "MODE", converter = AttentionFlags.Mode.class,
            description = "The patterns measured: minference (default), a-shape, vertical-slash or block-sparse.")
    AttentionMode attention;

    @Mixin
    AttentionFlags sparse;

    @Override
    int run() throws IOException {
        sparse.check(this);
        if (attention == AttentionMode.DENSE) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--attention': recall measures a sparse mode, not dense");
        }
        // Recall measures a sparse mode: minference unless the flag or the configuration file names another.
        AttentionMode mode = attention != null ? attention
                : settings(ConfigOverrides.NONE).attention().mode().sparse() ? null : AttentionMode.MINFERENCE;
        MinferenceConfig settings = settings(new ConfigOverrides(model, tokenizer, null, null, null, null, null,
                null, null).withAttention(mode, sparse.patterns, sparse.sparseThreshold, sparse.massBudget()));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        Inputs.requireFile(text, "text file");
        Inputs.requirePatterns(settings.attention());
        AttentionConfig measured = settings.attention();

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             CpuBackend backend = new CpuBackend();
             LlamaModel loaded = ModelLoader.load(settings.model(), settings.tokenizer(), progress)) {
            LlamaConfig c = loaded.config();
            if (layer != null && (layer < 0 || layer >= c.numLayers())) {
                throw new IllegalArgumentException("layer " + layer + " does not exist: the model has "
                        + c.numLayers() + " layers (0 to " + (c.numLayers() - 1) + ")");
            }
            int tokens = length != null ? length : Math.min(SearchPatternsCommand.DEFAULT_LENGTH, c.contextLength());
            if (tokens > c.contextLength()) {
                throw new IllegalArgumentException("length " + tokens + " does not fit the model's context of "
                        + c.contextLength() + " tokens");
            }
            SparsePrefill plan = SparsePrefill.of(measured, c, Set.of());
            int[] ids = TextTokens.first(loaded.tokenizer(), text, tokens, "text");
            out.printf(Locale.ROOT, "model %s; %s: %d tokens; patterns: %s%n", settings.model(), text, tokens,
                    plan.source());
            out.printf(Locale.ROOT, "%5s %5s  %-32s %9s %9s %10s%n", "layer", "head", "pattern", "density", "recall",
                    "rel error");
            out.flush();
            int blockSize = settings.prefill().blockSize();
            var recording = new RecordingAttention(backend, blockSize, (l, shape, q, k, v, n) -> {
                if (layer != null && l != layer) return;
                for (HeadAccuracy.Result r : HeadAccuracy.measure(shape, q, k, v, n, plan.plan().layers().get(l))) {
                    out.printf(Locale.ROOT, "%5d %5d  %-32s %9.4f %9.4f %10.2e%n", l, r.head(),
                            SparsePrefill.describe(plan.plan().pattern(l, r.head())),
                            r.density(), r.recall(), r.relativeError());
                }
                out.flush();
            });
            try (LlamaForward forward = new LlamaForward(c, loaded.weights(), backend, null, tokens, blockSize)) {
                forward.prefill(ids, progress, recording);
            }
        }
        return 0;
    }
}
