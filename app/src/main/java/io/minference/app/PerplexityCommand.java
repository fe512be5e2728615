package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.ScoreResult;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Perplexity after a long prefill: the text's first --length tokens are prefilled (sparse, for the sparse modes, with
 * the threshold at 0), then the next --tokens are fed one at a time and scored. Decode is dense in every mode, so
 * the columns differ only by what the sparse prefill left in the KV cache.
 */
@Command(name = "ppl", mixinStandardHelpOptions = true,
        description = "Perplexity of a text's continuation after prefilling its first --length tokens, dense and"
                + " sparse side by side.")
final class PerplexityCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE", required = true,
            description = "The text (UTF-8, plain or compressed).")
    Path text;

    @Option(names = "--length", paramLabel = "N", required = true, converter = TokenLengths.One.class,
            description = "Tokens prefilled, BOS included, k = 1024.")
    int length;

    @Option(names = "--tokens", paramLabel = "M", defaultValue = "64",
            description = "Tokens scored after the prefill (default: ${DEFAULT-VALUE}).")
    int scored;

    @Option(names = "--attention", paramLabel = "MODE[,MODE...]", converter = AttentionFlags.ModeList.class,
            description = "Attention modes, one row each (default: dense,minference).")
    List<AttentionMode> attentionModes;

    @Mixin
    AttentionFlags sparse;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Override
    int run() throws IOException {
        if (scored < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--tokens': must be 1 or more, got " + scored);
        }
        List<AttentionMode> modes = attentionModes != null ? attentionModes
                : List.of(AttentionMode.DENSE, AttentionMode.MINFERENCE);
        MinferenceConfig settings = comparisonSettings(model, tokenizer, device, modes, sparse);
        Inputs.requireFile(text, "text file");

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession dense = LlamaSession.load(settings.model(), settings.tokenizer(), settings.device(),
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            LlamaConfig c = dense.config();
            if ((long) length + scored - 1 > c.contextLength()) {
                throw new IllegalArgumentException("length " + length + " plus " + scored + " scored tokens does not"
                        + " fit the model's context of " + c.contextLength() + " tokens");
            }
            int[] ids = TextTokens.first(dense.tokenizer(), text, length + scored, "text");
            int[] context = TextTokens.slice(ids, 0, length);
            int[] continuation = TextTokens.slice(ids, length, length + scored);
            List<AttentionPlan> plans = new ArrayList<>();
            for (AttentionMode mode : modes) {
                plans.add(AttentionPlan.of(AttentionFlags.forMode(settings.attention(), mode, 0), c,
                        SparsePrefill.registeredPatterns()));
            }
            out.printf(Locale.ROOT, "model %s on %s; %s: %d tokens prefilled, the next %d scored; sparse modes at"
                    + " sparse threshold 0%n", settings.model(), dense.device(), text, length, scored);
            // A short untimed prefill per mode first (JIT, kernel loading), so that the first mode is not timed
            // cold; the perplexities do not depend on it.
            int[] warmUp = TextTokens.slice(ids, 0, Math.min(64, length));
            for (AttentionPlan plan : plans) {
                dense.prefill(warmUp, PrefillOptions.lastLogits(1).withAttention(plan));
            }
            out.printf(Locale.ROOT, "%-16s %12s %12s %8s%n", "attention", "perplexity", "prefill s", "kept");
            out.flush();
            for (int m = 0; m < modes.size(); m++) {
                ScoreResult r = dense.score(context, continuation, plans.get(m), progress);
                out.printf(Locale.ROOT, "%-16s %12.4f %12.3f %8s%n", modes.get(m).label(), r.perplexity(),
                        r.prefillNanos() / 1e9, AttentionTable.kept(r.density()));
                out.flush();
            }
        }
        return 0;
    }
}
