package io.minference.app;

import io.minference.llama.gguf.GgmlType;
import io.minference.llama.gguf.GgufFile;
import io.minference.llama.gguf.GgufQuantization;
import io.minference.llama.gguf.GgufTensorInfo;
import io.minference.llama.gguf.Quantizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Converts a GGUF model's weight matrices to a quantized type; the shipped default model was made with it. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Writes a copy of a GGUF model with its weight matrices converted to another tensor type (norms"
                + " and metadata copied), as llama.cpp's quantize does.")
final class QuantizeCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH", required = true, description = "The GGUF model to convert.")
    Path model;

    @Option(names = "--type", paramLabel = "TYPE", required = true,
            description = "The matrices' new type: ${COMPLETION-CANDIDATES}.", completionCandidates = Types.class)
    String type;

    @Option(names = "--out", paramLabel = "PATH", required = true, description = "The GGUF file to write.")
    Path out;

    /** The types a quantizer exists for, in lower case as the flag takes them. */
    static final class Types implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(GgmlType.values()).filter(t -> Quantizer.forType(t) != null)
                    .map(t -> t.name().toLowerCase(Locale.ROOT)).iterator();
        }
    }

    @Override
    int run() throws IOException {
        check("--type", type, QuantizeCommand::typeProblem);
        GgmlType target = GgmlType.valueOf(type.toUpperCase(Locale.ROOT));
        Inputs.requireFile(model, "model file");
        if (!GgufFile.hasMagic(model)) throw new IOException("model file " + model + " is not a GGUF file");
        if (Files.exists(out) && Files.isSameFile(model, out)) {
            throw new IOException("--out names the model file itself; write to another file");
        }
        try (GgufFile source = GgufFile.open(model)) {
            GgufQuantization.write(source, out, target);
            long converted = source.tensors().stream().filter(t -> GgufQuantization.converts(t, target)).count();
            String from = source.tensors().stream().filter(t -> GgufQuantization.converts(t, target))
                    .map(GgufTensorInfo::type).map(Enum::name).distinct().sorted().collect(Collectors.joining(", "));
            PrintWriter printer = out();
            printer.printf(Locale.ROOT, "wrote %s: %d tensors converted (%s) to %s, %d copied; %.1f MB -> %.1f MB%n",
                    out, converted, from, target, source.tensors().size() - converted, source.fileSize() / 1e6,
                    Files.size(out) / 1e6);
            printer.flush();
        }
        return 0;
    }

    private static Optional<String> typeProblem(String type) {
        String known = String.join(", ", new Types());
        boolean ok = Arrays.stream(GgmlType.values()).anyMatch(t -> t.name().equalsIgnoreCase(type)
                && Quantizer.forType(t) != null);
        return ok ? Optional.empty() : Optional.of("must be one of " + known + ", got '" + type + "'");
    }
}
