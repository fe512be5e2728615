package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.ScoreResult;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.PrefillOptions;
import io.minference.llama.session.PrefillResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Perplexity under each attention mode, scored one of two ways:
 * <ul>
 *   <li>{@code prefill} (the default, as MInference's PG-19 evaluation does it): one prefill of the text's first
 *       --length tokens, each mode's attention over the whole of it, and the loss of every position after the first
 *       --skip tokens, read from the logits the prefill keeps for those positions;</li>
 *   <li>{@code continuation}: the first --length tokens prefilled, then the next --tokens fed one at a time through
 *       dense decode and scored; the modes then differ only by what the sparse prefill left in the KV cache.</li>
 * </ul>
 * Sparse modes run with the sparse threshold at 0. Each row gives the density of its prefill: the mean fraction of the
 * causal area computed.
 */
@Command(name = "ppl", mixinStandardHelpOptions = true,
        description = "Perplexity of a text under each attention mode, side by side: every position after --skip"
                + " scored inside one prefill (--score prefill), or a continuation after the prefill"
                + " (--score continuation).")
final class PerplexityCommand extends CliCommand {
    /** Logits kept for one prefill at most: rows times vocabulary times 4 bytes. */
    static final long MAX_LOGIT_BYTES = 2L << 30;

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

    @Option(names = "--score", paramLabel = "HOW", defaultValue = "prefill",
            description = "prefill (every position after --skip, inside one prefill) or continuation (--tokens after"
                    + " the prefill, dense decode) (default: ${DEFAULT-VALUE}).")
    String score;

    @Option(names = "--skip", paramLabel = "N", defaultValue = "0",
            description = "With --score prefill: positions before N are not scored (default: ${DEFAULT-VALUE}; the"
                    + " first token, BOS, never is).")
    int skip;

    @Option(names = "--tokens", paramLabel = "M", defaultValue = "64",
            description = "With --score continuation: tokens scored after the prefill (default: ${DEFAULT-VALUE}).")
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
        boolean inPrefill = switch (score) {
            case "prefill" -> true;
            case "continuation" -> false;
            default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--score': '" + score + "' is not a scoring: use prefill or continuation");
        };
        if (scored < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--tokens': must be 1 or more, got " + scored);
        }
        if (skip < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--skip': must be 0 or more, got " + skip);
        }
        List<AttentionMode> modes = attentionModes != null ? attentionModes
                : List.of(AttentionMode.DENSE, AttentionMode.MINFERENCE);
        MinferenceConfig settings = comparisonSettings(model, tokenizer, device, modes, sparse);
        Inputs.requireFile(text, "text file");

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(settings.model(), settings.tokenizer(), settings.device(),
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            LlamaConfig c = session.config();
            int first = Math.max(1, skip);
            if (inPrefill) {
                if (length > c.contextLength()) {
                    throw new IllegalArgumentException("length " + length + " does not fit the model's context of "
                            + c.contextLength() + " tokens");
                }
                if (first >= length) {
                    throw new IllegalArgumentException("--skip " + skip + " leaves no position of the " + length
                            + " tokens to score");
                }
                long bytes = 4L * (length - first) * c.vocabSize();
                if (bytes > MAX_LOGIT_BYTES) {
                    throw new IllegalArgumentException("scoring " + (length - first) + " positions keeps their logits"
                            + " over a vocabulary of " + c.vocabSize() + " (" + (bytes >> 20) + " MiB, more than "
                            + (MAX_LOGIT_BYTES >> 20) + "): raise --skip");
                }
            } else if ((long) length + scored - 1 > c.contextLength()) {
                throw new IllegalArgumentException("length " + length + " plus " + scored + " scored tokens does not"
                        + " fit the model's context of " + c.contextLength() + " tokens");
            }
            int[] ids = TextTokens.first(session.tokenizer(), text, inPrefill ? length : length + scored, "text");
            List<AttentionPlan> plans = new ArrayList<>();
            for (AttentionMode mode : modes) {
                plans.add(AttentionPlan.of(AttentionFlags.forMode(settings.attention(), mode, 0), c,
                        SparsePrefill.registeredPatterns()));
            }
            if (inPrefill) {
                out.printf(Locale.ROOT, "model %s on %s; %s: %d tokens in one prefill, the %d positions from %d"
                        + " scored; sparse modes at sparse threshold 0%n", settings.model(), session.device(), text,
                        length, length - first, first);
            } else {
                out.printf(Locale.ROOT, "model %s on %s; %s: %d tokens prefilled, the next %d scored by dense"
                        + " decode; sparse modes at sparse threshold 0%n", settings.model(), session.device(), text,
                        length, scored);
            }
            // A short untimed prefill per mode first (JIT, kernel loading), so that the first mode is not timed
            // cold; the perplexities do not depend on it.
            int[] warmUp = TextTokens.slice(ids, 0, Math.min(64, length));
            for (AttentionPlan plan : plans) {
                session.prefill(warmUp, PrefillOptions.lastLogits(1).withAttention(plan));
            }
            out.printf(Locale.ROOT, "%-16s %12s %12s %8s%n", "attention", "perplexity", "prefill s", "kept");
            out.flush();
            for (int m = 0; m < modes.size(); m++) {
                ScoreResult r = inPrefill ? inPrefill(session, ids, first, plans.get(m), progress)
                        : session.score(TextTokens.slice(ids, 0, length), TextTokens.slice(ids, length,
                                length + scored), plans.get(m), progress);
                out.printf(Locale.ROOT, "%-16s %12.4f %12.3f %8s%n", modes.get(m).label(), r.perplexity(),
                        r.prefillNanos() / 1e9, AttentionTable.kept(r.density()));
                out.flush();
            }
        }
        return 0;
    }

    /**
     * One prefill of {@code ids} but its last token under {@code plan}; the logits it keeps for positions
     * {@code first - 1} on predict {@code ids[first..]}, each scored.
     */
    static ScoreResult inPrefill(LlamaSession session, int[] ids, int first, AttentionPlan plan,
                                 GenerationListener progress) {
        int n = ids.length - first;
        PrefillResult r = session.prefill(Arrays.copyOf(ids, ids.length - 1), PrefillOptions.lastLogits(n)
                .withAttention(plan).withProgress(progress).measuringDensity());
        double nll = 0;
        for (int j = 0; j < n; j++) nll -= LlamaSession.logSoftmax(r.logits()[j], ids[first + j]);
        return new ScoreResult(nll, n, ids.length - 1, r.nanos(), r.attention(), r.density());
    }
}
