package io.minference.app;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.HeadRecall;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.SyntheticRecall;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How faithful the sparse patterns are on real attention: a dense prefill of the text on the CPU, during which each
 * chosen layer's queries, keys and values go to {@link HeadAccuracy#measure} with that layer's patterns. With
 * --synthetic, on generated attention of a given shape instead ({@link SyntheticRecall}).
 */
@Command(name = "recall", mixinStandardHelpOptions = true,
        description = "Per head: the density of the sparse index, the attention mass it keeps (recall) and the"
                + " output error against dense attention, on a model's real attention over a text.")
final class RecallCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE",
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

    @Option(names = "--synthetic", paramLabel = "KIND", converter = SyntheticKind.class,
            description = "Generated attention instead of a model's: structured (sinks, local band, strong columns,"
                    + " periodic diagonals, noise) or random (the worst case).")
    SyntheticRecall.Kind synthetic;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "32",
            description = "With --synthetic: query heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "K", defaultValue = "8",
            description = "With --synthetic: key/value heads (default: ${DEFAULT-VALUE}).")
    int kvHeads;

    @Option(names = "--head-dim", paramLabel = "D", defaultValue = "128",
            description = "With --synthetic: head size (default: ${DEFAULT-VALUE}).")
    int headDim;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "With --synthetic: the seed.")
    long seed;

    static final class SyntheticKind implements picocli.CommandLine.ITypeConverter<SyntheticRecall.Kind> {
        @Override
        public SyntheticRecall.Kind convert(String value) {
            return switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "structured" -> SyntheticRecall.Kind.STRUCTURED;
                case "random" -> SyntheticRecall.Kind.RANDOM;
                default -> throw new picocli.CommandLine.TypeConversionException("'" + value
                        + "' is not a kind of synthetic attention: use structured or random");
            };
        }
    }

    @Override
    int run() throws IOException {
        refuseIgnored("--sparse-threshold", "recall measures each head's pattern on the whole prompt, whatever its"
                + " length");
        sparse.check(this);
        if (attention == AttentionMode.DENSE) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--attention': recall measures a sparse mode, not dense");
        }
        // Recall measures a sparse mode: minference unless the flag or the configuration file names another.
        AttentionMode mode = attention != null ? attention
                : settings(ConfigOverrides.NONE).attention().mode().sparse() ? null : AttentionMode.MINFERENCE;
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer)
                .withAttention(mode, sparse.patterns, sparse.sparseThreshold, sparse.massBudget()));
        AttentionConfig measured = settings.attention();
        Inputs.requirePatterns(measured);
        if (synthetic != null) return runSynthetic(measured);
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        if (text == null) throw missing("'--text=FILE' (or --synthetic KIND)");
        Inputs.requireModel(settings.model());
        Inputs.requireFile(text, "text file");

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(settings.model(), settings.tokenizer(), "cpu",
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            LlamaConfig c = session.config();
            if (layer != null && (layer < 0 || layer >= c.numLayers())) {
                throw new IllegalArgumentException("layer " + layer + " does not exist: the model has "
                        + c.numLayers() + " layers (0 to " + (c.numLayers() - 1) + ")");
            }
            int tokens = length != null ? length : Math.min(SearchPatternsCommand.DEFAULT_LENGTH, c.contextLength());
            if (tokens > c.contextLength()) {
                throw new IllegalArgumentException("length " + tokens + " does not fit the model's context of "
                        + c.contextLength() + " tokens");
            }
            SparsePrefill plan = SparsePrefill.of(measured, c, SparsePrefill.registeredPatterns());
            int[] ids = TextTokens.first(session.tokenizer(), text, tokens, "text");
            out.printf(Locale.ROOT, "model %s; %s: %d tokens; patterns: %s%n", settings.model(), text, tokens,
                    plan.source());
            out.printf(Locale.ROOT, "%5s %5s  %-32s %9s %9s %10s%n", "layer", "head", "pattern", "density", "recall",
                    "rel error");
            out.flush();
            session.recall(ids, plan.plan(), layer == null ? -1 : layer, r -> {
                out.printf(Locale.ROOT, "%5d %5d  %-32s %9.4f %9.4f %10.2e%n", r.layer(), r.head(),
                        SparsePrefill.describe(r.pattern()), r.density(), r.recall(), r.relativeError());
                out.flush();
            }, progress.renamed("recall"));
        }
        return 0;
    }

    private int runSynthetic(AttentionConfig measured) {
        try {
            SyntheticRecall.checkShape(heads, kvHeads, headDim);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Invalid synthetic shape: "
                    + e.getMessage());
        }
        int tokens = length != null ? length : SearchPatternsCommand.DEFAULT_LENGTH;
        int l = layer != null ? layer : 0;
        if (l < 0) throw new IllegalArgumentException("layer must be 0 or more, got " + l);
        var patterns = SyntheticRecall.patterns(measured, l, heads);
        PrintWriter out = out();
        out.printf(Locale.ROOT, "synthetic %s attention: %d heads, %d KV heads, head size %d, %d tokens, seed %d;"
                        + " patterns: %s%n", synthetic.name().toLowerCase(Locale.ROOT), heads, kvHeads, headDim, tokens,
                seed, measured.patterns() != null ? measured.patterns() + ", layer " + l
                        : SparsePrefill.describe(SyntheticRecall.patterns(measured, 0, heads).getFirst()));
        out.printf(Locale.ROOT, "%5s %5s  %-32s %9s %9s %10s%n", "layer", "head", "pattern", "density", "recall",
                "rel error");
        out.flush();
        List<HeadRecall> results;
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal())) {
            results = SyntheticRecall.measure(synthetic, heads, kvHeads, headDim, tokens, seed, l, patterns,
                    progress);
        }
        double recallSum = 0;
        for (HeadRecall r : results) {
            out.printf(Locale.ROOT, "%5d %5d  %-32s %9.4f %9.4f %10.2e%n", r.layer(), r.head(),
                    SparsePrefill.describe(r.pattern()), r.density(), r.recall(), r.relativeError());
            recallSum += r.recall();
        }
        out.printf(Locale.ROOT, "mean recall %.4f%n", recallSum / heads);
        out.flush();
        return 0;
    }
}
