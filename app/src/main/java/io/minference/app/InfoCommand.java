package io.minference.app;

import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.load.ModelFormatException;
import io.minference.llama.load.ModelInfo;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.load.WeightCheck;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Prints a model's hyper-parameters and its tensors' types, without loading the weights; with --check, loads them
 * and scans every value, so that what generate would stumble on (a NaN or infinite weight) is found here.
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Prints a model's hyper-parameters and the types and shapes of its tensors.")
final class InfoCommand extends CliCommand {

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (or model: in --config).")
    String model;

    @Option(names = "--check", description = "Also load the weights and check that every value is finite.")
    boolean check;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "With --check: a tokenizer file overriding the model's own (as for generate).")
    Path tokenizer;

    @Override
    int run() throws IOException {
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        print(ModelLoader.inspect(settings.model()));
        if (check) checkWeights(settings);
        return 0;
    }

    private void checkWeights(MinferenceConfig settings) {
        Optional<WeightCheck.Finding> found;
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaModel loaded = ModelLoader.load(settings.model(), settings.tokenizer(), progress)) {
            found = WeightCheck.firstNonFinite(loaded.weights(), progress);
        }
        found.ifPresent(f -> {
            throw new ModelFormatException(settings.model(), "the weights hold a non-finite value (" + f.value()
                    + ") in " + f.tensor() + " at element " + f.index() + "; generate would produce garbage");
        });
        row(out(), "weights", "every value finite");
        out().flush();
    }

    private void print(ModelInfo info) {
        PrintWriter out = out();
        LlamaConfig c = info.config();
        row(out, "source", info.source());
        row(out, "format", info.format());
        row(out, "embedding length", c.dim());
        row(out, "feed-forward length", c.hiddenDim());
        row(out, "blocks", c.numLayers());
        row(out, "heads", c.numHeads() + " (head dim " + c.headDim() + ")");
        row(out, "KV heads", c.numKvHeads() + " (" + c.groupSize() + " query heads each)");
        row(out, "vocabulary", c.vocabSize());
        row(out, "context length", c.contextLength());
        row(out, "RoPE base", plain(c.ropeTheta()));
        row(out, "RMS epsilon", plain(c.rmsEps()));
        Map<String, Long> byType = new TreeMap<>(info.tensors().stream()
                .collect(Collectors.groupingBy(ModelInfo.TensorSummary::type, Collectors.counting())));
        row(out, "tensors", info.tensors().size() + " " + byType.entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", ", "(", ")")));
        int nameWidth = info.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(0);
        for (ModelInfo.TensorSummary t : info.tensors()) {
            out.printf("  %-" + nameWidth + "s  %-5s %s%n", t.name(), t.type(), Arrays.toString(t.shape()));
        }
        out.flush();
    }

    /** 500000 rather than 500000.0, 0.00001 rather than 1.0E-5. */
    static String plain(float value) {
        if (value == Math.rint(value) && Math.abs(value) < 1e15) return Long.toString((long) value);
        return new BigDecimal(Float.toString(value)).stripTrailingZeros().toString().replace("E", "e");
    }

    private static void row(PrintWriter out, String name, Object value) {
        out.printf("%-20s %s%n", name, value);
    }
}
