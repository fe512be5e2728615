package io.minference.app;

import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Offline pattern search: a dense prefill of calibration text on the CPU, during which every layer's queries and keys
 * go to {@link PatternSearch#searchLayer}; the chosen patterns are written as a YAML pattern file.
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

    @Override
    int run() throws IOException {
        MinferenceConfig settings = settings(new ConfigOverrides(model, tokenizer, null, null, null, null, null,
                null, null));
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
            int[] ids = TextTokens.first(session.tokenizer(), calibration, tokens, "calibration text");
            PatternPlan plan = session.searchPatterns(ids, progress.renamed("search"));
            List<List<HeadPattern>> layers = plan.layers();
            PatternFiles.write(outFile, plan, "Found by minference search-patterns: " + tokens + " tokens of "
                    + calibration.getFileName() + " through " + Path.of(settings.model()).getFileName());
            out.printf(Locale.ROOT, "wrote %s: %d layers x %d heads from %d calibration tokens%n", outFile,
                    c.numLayers(), c.numHeads(), tokens);
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
