package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Needle in a haystack: the pass-key task ({@link PasskeyPrompt}) at each length and depth, a number of trials
 * each, under every attention mode asked for, scored two ways:
 * <ul>
 *   <li>{@code prefill}: the answer's tokens appended to the prompt and scored inside one prefill, the mode's
 *       attention over the whole sequence ({@link PasskeyPrompt#scoreInPrefill}); this is what tests a sparse
 *       prefill;</li>
 *   <li>{@code generate}: the answer generated greedily after the prefill. Decode steps are dense and read the
 *       needle's own keys and values from the cache, which every pattern computes from local context, so this
 *       scoring cannot see what a sparse prefill leaves out.</li>
 * </ul>
 * Sparse modes run with the sparse threshold at 0, so that every prompt goes through the sparse path. Each trial's
 * key (and so its prompt) is the same in every mode. Beside the table: each mode's density per length (the mean
 * fraction of the causal area computed) and, scored in the prefill, the key's mean log-likelihood.
 */
@Command(name = "needle", mixinStandardHelpOptions = true,
        description = "Retrieval of a 5-digit pass key hidden in a haystack text, per prompt length and depth, with a"
                + " column of accuracy per attention mode.")
final class NeedleCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--lengths", paramLabel = "N[,N...]", converter = TokenLengths.class, defaultValue = "4k",
            description = "Whole prompt lengths in tokens, the question included, k = 1024 (default: ${DEFAULT-VALUE}).")
    List<Integer> lengths;

    @Option(names = "--depths", paramLabel = "P[,P...]", converter = Depths.class, defaultValue = "10,50,90",
            description = "Where the needle goes, in percent of the haystack (default: ${DEFAULT-VALUE}).")
    List<Integer> depths;

    @Option(names = "--trials", paramLabel = "N", defaultValue = "10",
            description = "Trials per length and depth, each with its own key (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--attention", paramLabel = "MODE[,MODE...]", converter = AttentionFlags.ModeList.class,
            description = "Attention modes, one column each (default: dense,minference).")
    List<AttentionMode> attentionModes;

    @Mixin
    AttentionFlags sparse;

    @Option(names = "--haystack", paramLabel = "FILE",
            description = "Haystack text (default: ../shared/data/text/moby-dick.txt when present, else a generated"
                    + " filler).")
    Path haystack;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the first trial's key.")
    long seed;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--score", paramLabel = "HOW", converter = Scorings.class, defaultValue = "both",
            description = "prefill (the answer's tokens scored inside one prefill of prompt and answer, each mode's"
                    + " attention over the whole sequence), generate (the answer generated after the prefill: decode"
                    + " is dense, so blind to the sparse prefill) or both (default: ${DEFAULT-VALUE}).")
    List<Scoring> scorings;

    /** How a trial is scored. */
    enum Scoring {
        PREFILL, GENERATE;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    int run() throws IOException {
        if (trials < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--trials': must be 1 or more, got " + trials);
        }
        List<AttentionMode> modes = attentionModes != null ? attentionModes
                : List.of(AttentionMode.DENSE, AttentionMode.MINFERENCE);
        MinferenceConfig settings = comparisonSettings(model, tokenizer, device, modes, sparse);
        if (haystack != null) Inputs.requireFile(haystack, "haystack file");

        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(settings.model(), settings.tokenizer(), settings.device(),
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            LlamaConfig c = session.config();
            int longest = lengths.stream().mapToInt(Integer::intValue).max().orElseThrow();
            for (int length : lengths) {
                if (length > c.contextLength()) {
                    throw new IllegalArgumentException("length " + length + " is above the model's context of "
                            + c.contextLength() + " tokens");
                }
                if (PasskeyPrompt.ANSWER_TOKENS >= c.contextLength()) {
                    throw new IllegalArgumentException("the model's context of " + c.contextLength()
                            + " tokens leaves no room for a prompt and its " + PasskeyPrompt.ANSWER_TOKENS
                            + "-token answer");
                }
            }
            Haystack hay = haystack(longest);
            List<AttentionPlan> plans = new ArrayList<>();
            for (AttentionMode mode : modes) {
                plans.add(AttentionPlan.of(AttentionFlags.forMode(settings.attention(), mode, 0), c,
                        SparsePrefill.registeredPatterns()));
            }
            // The same prompts (keys, depths) for every mode, built once.
            List<PasskeyPrompt> prompts = new ArrayList<>();
            for (int length : lengths) {
                for (int depth : depths) {
                    for (int t = 0; t < trials; t++) {
                        prompts.add(PasskeyPrompt.build(session.tokenizer(), hay.text(), promptTokens(length, c),
                                depth / 100.0, seed + t));
                    }
                }
            }
            // One session holds the weights; each prompt is answered by every mode, in an order that alternates
            // from one prompt to the next, so that no mode always runs first (cold) or last.
            int rows = lengths.size() * depths.size();
            int perLength = depths.size() * trials;
            int[][] correct = new int[modes.size() * scorings.size()][rows];
            double[][] density = new double[modes.size()][lengths.size()];
            double[][] keyLogLikelihood = new double[modes.size()][lengths.size()];
            long runs = (long) prompts.size() * modes.size();
            progress.progress("needle", 0, runs);
            for (int i = 0; i < prompts.size(); i++) {
                PasskeyPrompt prompt = prompts.get(i);
                int l = i / perLength;
                for (int k = 0; k < modes.size(); k++) {
                    int m = i % 2 == 0 ? k : modes.size() - 1 - k;
                    AttentionPlan plan = plans.get(m);
                    double measured = Double.NaN;
                    for (int s = 0; s < scorings.size(); s++) {
                        boolean retrieved;
                        if (scorings.get(s) == Scoring.PREFILL) {
                            PasskeyPrompt.PrefillScore score = prompt.scoreInPrefill(session, plan);
                            retrieved = score.retrieved();
                            keyLogLikelihood[m][l] += score.keyLogLikelihood() / perLength;
                            measured = score.density();
                        } else {
                            GenerationResult r = session.generate(prompt.ids(), GenerationRequest
                                    .of(PasskeyPrompt.ANSWER_TOKENS).withAttention(plan), GenerationListener.NONE);
                            retrieved = prompt.isAnsweredBy(r.text());
                            if (Double.isNaN(measured)) measured = r.density();
                        }
                        if (retrieved) correct[m * scorings.size() + s][i / trials]++;
                    }
                    // Scored by generation alone on a GPU, the density comes from a prefill that measures it (a device
                    // prefill copies its indices back only when asked).
                    if (Double.isNaN(measured)) measured = prompt.density(session, plan);
                    density[m][l] += measured / perLength;
                    progress.progress("needle", (long) i * modes.size() + k + 1, runs);
                }
            }
            out.printf(Locale.ROOT, "model %s on %s; haystack %s; %d trial%s per row; sparse modes at sparse"
                    + " threshold 0; modes in alternating order; scoring %s%n", settings.model(), session.device(),
                    hay.name(), trials, trials == 1 ? "" : "s",
                    String.join(" and ", scorings.stream().map(Scoring::label).toList()));
            for (int length : lengths) {
                if (promptTokens(length, c) < length) {
                    out.printf(Locale.ROOT, "length %d fills the context: its prompts are %d tokens, leaving %d for"
                            + " the answer%n", length, promptTokens(length, c), PasskeyPrompt.ANSWER_TOKENS);
                }
            }
            StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%8s %6s", "length", "depth"));
            for (AttentionMode mode : modes) {
                for (Scoring scoring : scorings) {
                    header.append(String.format(Locale.ROOT, " %20s", scorings.size() == 1 ? mode.label()
                            : mode.label() + ":" + scoring.label()));
                }
            }
            out.println(header);
            for (int l = 0; l < lengths.size(); l++) {
                for (int d = 0; d < depths.size(); d++) {
                    StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%8d %5d%%", lengths.get(l),
                            depths.get(d)));
                    for (int[] column : correct) {
                        row.append(String.format(Locale.ROOT, " %20s", column[l * depths.size() + d] + "/" + trials));
                    }
                    out.println(row);
                }
            }
            boolean prefillScored = scorings.contains(Scoring.PREFILL);
            out.printf(Locale.ROOT, "density: the mean fraction of the causal area each mode's prefill computed%s%n",
                    prefillScored ? "; key loglik: the key tokens' mean log-probability, scored in the prefill" : "");
            out.printf(Locale.ROOT, "%8s %-16s %8s%s%n", "length", "attention", "density",
                    prefillScored ? String.format(Locale.ROOT, " %12s", "key loglik") : "");
            for (int l = 0; l < lengths.size(); l++) {
                for (int m = 0; m < modes.size(); m++) {
                    out.printf(Locale.ROOT, "%8d %-16s %8.4f%s%n", lengths.get(l), modes.get(m).label(), density[m][l],
                            prefillScored ? String.format(Locale.ROOT, " %12.4f", keyLogLikelihood[m][l]) : "");
                }
            }
            out.flush();
        }
        return 0;
    }

    private record Haystack(String name, String text) {
    }

    private Haystack haystack(int longestPrompt) throws IOException {
        if (haystack != null) return new Haystack(haystack.toString(), PromptFiles.read(haystack));
        Optional<Path> mobyDick = PasskeyPrompt.sharedHaystack();
        if (mobyDick.isPresent()) return new Haystack(mobyDick.get().toString(), PromptFiles.read(mobyDick.get()));
        return new Haystack("generated filler (no --haystack, and ../shared/data/" + PasskeyPrompt.HAYSTACK
                + " is absent)", PasskeyPrompt.filler(longestPrompt * 8));
    }

    /** prefill, generate or both (prefill first). */
    static final class Scorings implements ITypeConverter<List<Scoring>> {
        @Override
        public List<Scoring> convert(String value) {
            return switch (value.strip()) {
                case "prefill" -> List.of(Scoring.PREFILL);
                case "generate" -> List.of(Scoring.GENERATE);
                case "both" -> List.of(Scoring.PREFILL, Scoring.GENERATE);
                default -> throw new TypeConversionException("'" + value + "' is not a scoring: use prefill,"
                        + " generate or both");
            };
        }
    }

    /** Percentages from 0 to 100, comma-separated. */
    static final class Depths implements ITypeConverter<List<Integer>> {
        @Override
        public List<Integer> convert(String value) {
            List<Integer> depths = new ArrayList<>();
            for (String part : value.split(",", -1)) {
                String p = part.strip();
                if (p.endsWith("%")) p = p.substring(0, p.length() - 1);
                if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > 100) {
                    throw new TypeConversionException("'" + part.strip() + "' is not a depth: use a whole percentage"
                            + " from 0 to 100");
                }
                depths.add(Integer.parseInt(p));
            }
            return List.copyOf(depths);
        }
    }

    /** A length's prompt tokens: the whole length, less the answer's room where the length fills the context. */
    private static int promptTokens(int length, LlamaConfig c) {
        return Math.min(length, c.contextLength() - PasskeyPrompt.ANSWER_TOKENS);
    }
}
