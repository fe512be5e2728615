package io.minference.app;

import io.minference.config.ConfigOverrides;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints the token ids of a text, without BOS. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Prints the token ids of a text, separated by spaces, without BOS.",
                "With --tokenizer the file alone is read (a tokenizer.json, or a llama2.c tokenizer whose vocabulary"
                        + " size is counted from the file); with --model the model's own tokenizer is used."})
final class TokenizeCommand extends CliCommand {

    @ArgGroup
    Source source;

    static final class Source {
        @Option(names = "--model", paramLabel = "PATH", required = true,
                description = "A model whose tokenizer to use (or model: in --config).")
        String model;

        @Option(names = "--tokenizer", paramLabel = "PATH", required = true,
                description = "A tokenizer.json or a llama2.c tokenizer .bin (or tokenizer: in --config).")
        Path tokenizer;
    }

    @Option(names = "--text", paramLabel = "TEXT", required = true, description = "The text to tokenize.")
    String text;

    @Override
    int run() throws IOException {
        var flags = ConfigOverrides.NONE.withModel(source == null ? null : source.model,
                source == null ? null : source.tokenizer);
        MinferenceConfig settings = settings(flags);
        int[] ids;
        // A tokenizer named anywhere wins: reading it alone is far cheaper than loading a model.
        if (settings.tokenizer() != null && (source == null || source.model == null)) {
            ids = TokenizerFiles.open(settings.tokenizer()).encode(text);
        } else if (settings.model() != null) {
            Inputs.requireModel(settings.model());
            try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
                 LlamaModel model = ModelLoader.load(settings.model(), settings.tokenizer(), progress)) {
                Tokenizer tokenizer = model.tokenizer();
                ids = tokenizer.encode(text);
            }
        } else {
            throw missing("'--model=PATH' or '--tokenizer=PATH' (or model: or tokenizer: in the --config file)");
        }
        out().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        out().flush();
        return 0;
    }
}
