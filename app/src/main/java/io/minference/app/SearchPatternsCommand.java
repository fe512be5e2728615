package io.minference.app;

import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.IndexCost;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.PatternSearch;
import io.minference.sparse.config.PatternFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Offline pattern search: a dense prefill of calibration text on the CPU, during which every layer's queries, keys
 * and values go to {@link PatternSearch#searchLayer}; the chosen patterns are written as a YAML pattern file. Every
 * head's choice is printed with what its index costs on the calibration text (tiles, and their share of dense), its
 * density, recall and output errors.
 */
@Command(name = "search-patterns", mixinStandardHelpOptions = true,
        description = "Chooses a sparse pattern and budget per head from calibration text (a dense prefill on the"
                + " CPU) and writes them as a pattern file for --patterns.")
final class SearchPatternsCommand extends CliCommand {
    static final int DEFAULT_LENGTH = 4096;

    @Option(names = "--model", paramLabel = "PATH", description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "A tokenizer file overriding the model's own.")
    Path tokenizer;

    @Option(names = "--calibration", paramLabel = "FILE", required = true,
            description = "Calibration text (UTF-8, plain or compressed); its first --length tokens are used.")
    Path calibration;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "The pattern file to write (YAML).")
    Path outFile;

    @Option(names = "--length", paramLabel = "N", converter = TokenLengths.One.class,
            description = "Calibration tokens, BOS included, k = 1024 (default: 4k, or the model's context if"
                    + " shorter).")
    Integer length;

    @Option(names = "--candidates", paramLabel = "SET", converter = CandidateSets.class, defaultValue = "equal-cost",
            description = "equal-cost (patterns of about --target keys per row) or minference (the candidates of"
                    + " MInference's search) (default: ${DEFAULT-VALUE}).")
    PatternSearch.Candidates candidates;

    @Option(names = "--criterion", paramLabel = "C", converter = Criteria.class, defaultValue = "recall",
            description = "recall (attention mass kept) or output-error (output elements off dense by more than"
                    + " 5e-3, MInference's) (default: ${DEFAULT-VALUE}).")
    PatternSearch.Criterion criterion;

    @Option(names = "--target", paramLabel = "N",
            description = "Keys per row of the equal-cost candidates (default: min(7096, length/8), at least 256).")
    Integer target;

    @Option(names = "--tile-budget", paramLabel = "F", defaultValue = "1",
            description = "Only candidates whose index costs at most this fraction of dense attention's tiles on the"
                    + " calibration text (default: ${DEFAULT-VALUE}, no limit).")
    double tileBudget;

    static final class CandidateSets implements ITypeConverter<PatternSearch.Candidates> {
        @Override
        public PatternSearch.Candidates convert(String value) {
            return byLabel(PatternSearch.Candidates.values(), PatternSearch.Candidates::label, value, "candidate set");
        }
    }

    static final class Criteria implements ITypeConverter<PatternSearch.Criterion> {
        @Override
        public PatternSearch.Criterion convert(String value) {
            return byLabel(PatternSearch.Criterion.values(), PatternSearch.Criterion::label, value, "criterion");
        }
    }

    private static <E> E byLabel(E[] values, Function<E, String> label, String value, String what) {
        for (E e : values) if (label.apply(e).equals(value.strip())) return e;
        throw new TypeConversionException("'" + value + "' is not a " + what + ": use " + String.join(" or ",
                Arrays.stream(values).map(label).toList()));
    }

    @Override
    int run() throws IOException {
        if (!(tileBudget > 0 && tileBudget <= 1)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--tile-budget': must be a fraction in (0, 1], got " + tileBudget);
        }
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        Inputs.requireFile(calibration, "calibration file");
        PrintWriter out = out();
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaSession session = LlamaSession.load(settings.model(), settings.tokenizer(), "cpu",
                     config -> AttentionPlan.dense(), settings.prefill().blockSize(), progress)) {
            LlamaConfig c = session.config();
            int tokens = length != null ? length : Math.min(DEFAULT_LENGTH, c.contextLength());
            if (tokens > c.contextLength()) {
                throw new IllegalArgumentException("length " + tokens + " does not fit the model's context of "
                        + c.contextLength() + " tokens");
            }
            int keysPerRow = target != null ? target : PatternSearch.defaultTarget(tokens);
            var search = new PatternSearch.Settings(candidates, keysPerRow, criterion, tileBudget);
            List<HeadPattern> tried = search.patterns();
            int[] ids = TextTokens.first(session.tokenizer(), calibration, tokens, "calibration text");
            List<List<PatternSearch.Choice>> found = session.searchPatterns(ids, search, progress.renamed("search"));
            List<List<HeadPattern>> layers = new ArrayList<>();
            IndexCost chosenCost = IndexCost.NONE;
            List<String> rows = new ArrayList<>();
            for (int layer = 0; layer < found.size(); layer++) {
                layers.add(found.get(layer).stream().map(PatternSearch.Choice::pattern).toList());
                for (PatternSearch.Choice choice : found.get(layer)) {
                    PatternSearch.Measured m = choice.chosen();
                    chosenCost = chosenCost.plus(m.cost());
                    rows.add(String.format(Locale.ROOT, "%5d %5d  %-28s %8d %6.3f %8.4f %8.4f %10d", layer,
                            choice.head(), SparsePrefill.describe(m.pattern()), m.cost().tiles(),
                            m.cost().tileDensity(), m.cost().density(), m.recall(), m.outputErrors()));
                }
            }
            PatternPlan plan = new PatternPlan(layers);
            PatternFiles.write(outFile, plan, "Found by minference search-patterns: " + tokens + " tokens of "
                    + calibration.getFileName() + " through " + Path.of(settings.model()).getFileName()
                    + "\ncandidates " + candidates.label() + ", criterion " + criterion.label() + ", tile budget "
                    + tileBudget + "; chosen: " + chosenCost.tiles() + " tiles on the calibration text, "
                    + String.format(Locale.ROOT, "%.4f", chosenCost.tileDensity()) + " of dense");
            out.printf(Locale.ROOT, "wrote %s: %d layers x %d heads from %d calibration tokens%n", outFile,
                    c.numLayers(), c.numHeads(), tokens);
            out.printf(Locale.ROOT, "candidates %s (%d: %s); criterion %s; tile budget %s of dense (%d tiles a"
                    + " head)%n", candidates.label(), tried.size(), String.join(", ",
                    tried.stream().map(SparsePrefill::describe).toList()), criterion.label(),
                    tileBudget == 1 ? "none" : Double.toString(tileBudget), IndexCost.denseTiles(tokens));
            out.printf(Locale.ROOT, "%5s %5s  %-28s %8s %6s %8s %8s %10s%n", "layer", "head", "pattern", "tiles",
                    "share", "density", "recall", "out errors");
            rows.forEach(out::println);
            out.printf(Locale.ROOT, "chosen patterns on the calibration text: %d tiles, %.4f of dense; mean density"
                    + " %.4f%n", chosenCost.tiles(), chosenCost.tileDensity(), chosenCost.density());
            Map<String, Integer> counts = new TreeMap<>();
            for (List<HeadPattern> heads : layers) {
                for (HeadPattern p : heads) counts.merge(SparsePrefill.describe(p), 1, Integer::sum);
            }
            counts.forEach((p, n) -> out.printf(Locale.ROOT, "%6d heads  %s%n", n, p));
            out.flush();
        }
        return 0;
    }
}
