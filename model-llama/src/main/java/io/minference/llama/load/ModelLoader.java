package io.minference.llama.load;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.llama.gguf.GgufFile;
import io.minference.llama.gguf.GgufLlama;
import io.minference.llama.llama2c.Llama2cCheckpoint;
import io.minference.llama.llama2c.Llama2cHeader;
import io.minference.llama.synthetic.SyntheticModel;
import io.minference.llama.synthetic.SyntheticShape;
import io.minference.llama.tokenizer.BpeTokenizer;
import io.minference.llama.tokenizer.ByteTokenizer;
import io.minference.llama.tokenizer.SentencePieceTokenizer;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.ProgressListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Loads a model from a --model value: "synthetic:NAME" or "synthetic:path/to/shape.yaml", a file that starts with
 * the GGUF magic, or else a llama2.c checkpoint. Problems are {@link ModelLoadException}s (a missing or unreadable
 * file, a tokenizer that cannot be found) or {@link ModelFormatException}s (a malformed file), each naming the file.
 */
public final class ModelLoader {
    public static final String SYNTHETIC_PREFIX = "synthetic:";

    private ModelLoader() {
    }

    /**
     * @param model     a .gguf file, a llama2.c checkpoint, "synthetic:NAME" or "synthetic:path/to/shape.yaml"
     * @param tokenizer a tokenizer file overriding the model's own (required for llama2.c checkpoints, whose
     *                  tokenizer lives beside them), or null
     */
    public static LlamaModel load(String model, Path tokenizer, ProgressListener progress) {
        if (model.startsWith(SYNTHETIC_PREFIX)) return loadSynthetic(model, tokenizer, progress);
        Path path = existingFile(model);
        return isGguf(path) ? loadGguf(path, tokenizer, progress) : loadLlama2c(path, tokenizer, progress);
    }

    /**
     * GGUF by its magic, whatever the name. A file named .gguf that is neither GGUF nor a valid llama2.c checkpoint
     * is reported as GGUF, so that its error names the wrong magic instead of a broken llama2.c header.
     */
    private static boolean isGguf(Path path) {
        if (GgufFile.hasMagic(path)) return true;
        if (!path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) return false;
        try {
            Llama2cHeader.read(path);
            return false;
        } catch (ModelFormatException notLlama2c) {
            return true;
        }
    }

    /**
     * The llama2.c header of a file that is not GGUF. A llama2.c checkpoint has no magic of its own, so whatever is
     * wrong with the header is said together with the missing GGUF magic: the file may have been meant as either.
     */
    private static Llama2cHeader llama2cHeader(Path path) {
        try {
            return Llama2cHeader.read(path);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(path.toString(), "not GGUF (it does not start with \"GGUF\"), and "
                    + e.problem(), e);
        }
    }

    /** Reads hyper-parameters and tensor types without loading weights. */
    public static ModelInfo inspect(String model) {
        if (model.startsWith(SYNTHETIC_PREFIX)) {
            SyntheticShape shape = SyntheticShape.parse(model.substring(SYNTHETIC_PREFIX.length()));
            List<ModelInfo.TensorSummary> tensors = SyntheticModel.tensors(shape).stream()
                    .map(t -> new ModelInfo.TensorSummary(t.name(), "F32", t.shape())).toList();
            return new ModelInfo(model, "synthetic", shape.config(), tensors);
        }
        Path path = existingFile(model);
        if (isGguf(path)) {
            try (GgufFile gguf = GgufFile.open(path)) {
                List<ModelInfo.TensorSummary> tensors = gguf.tensors().stream()
                        .map(t -> new ModelInfo.TensorSummary(t.name(), t.type().name(), t.shape())).toList();
                return new ModelInfo(model, "gguf v" + gguf.version(), GgufLlama.readConfig(gguf), tensors);
            }
        }
        Llama2cHeader header = llama2cHeader(path);
        List<ModelInfo.TensorSummary> tensors = Llama2cCheckpoint.tensors(header).stream()
                .map(t -> new ModelInfo.TensorSummary(t.name(), "F32", t.shape())).toList();
        return new ModelInfo(model, "llama2.c", header.config(model), tensors);
    }

    private static Path existingFile(String model) {
        Path path = Path.of(model);
        if (!Files.exists(path)) throw new ModelLoadException(model, "no such file");
        if (Files.isDirectory(path)) throw new ModelLoadException(model, "is a directory, not a model file");
        if (!Files.isReadable(path)) throw new ModelLoadException(model, "cannot read the file (permission denied)");
        return path;
    }

    private static LlamaModel loadSynthetic(String model, Path tokenizer, ProgressListener progress) {
        SyntheticShape shape = SyntheticShape.parse(model.substring(SYNTHETIC_PREFIX.length()));
        return new LlamaModel(model, shape.config(), SyntheticModel.create(shape, progress),
                syntheticTokenizer(shape, tokenizer));
    }

    /** A synthetic model's tokenizer: the file given, or the byte tokenizer. */
    public static Tokenizer syntheticTokenizer(SyntheticShape shape, Path tokenizer) {
        int vocabulary = shape.config().vocabSize();
        return tokenizer != null ? loadTokenizer(tokenizer, vocabulary) : new ByteTokenizer(vocabulary);
    }

    /**
     * Maps the file and checks every tensor's bounds, shape and type; the weights stay in the mapping (nothing
     * proportional to the model is copied) and the model closes the file with itself.
     */
    private static LlamaModel loadGguf(Path path, Path tokenizer, ProgressListener progress) {
        GgufFile gguf = GgufFile.open(path);
        try {
            LlamaConfig config = GgufLlama.readConfig(gguf);
            Tokenizer tok = tokenizer != null ? loadTokenizer(tokenizer, config.vocabSize())
                    : GgufLlama.readTokenizer(gguf);
            LlamaWeights weights = GgufLlama.mapWeights(gguf, config, progress);
            return new LlamaModel(path.toString(), config, weights, tok);
        } catch (RuntimeException | Error e) {
            gguf.close();
            throw e;
        }
    }

    private static LlamaModel loadLlama2c(Path path, Path tokenizer, ProgressListener progress) {
        Llama2cHeader header = llama2cHeader(path);
        LlamaConfig config = header.config(path.toString());
        Path tokenizerPath = tokenizer != null ? tokenizer
                : Llama2cCheckpoint.findTokenizer(path, config.vocabSize()).orElseThrow(() -> new ModelLoadException(
                        path.toString(), "a llama2.c checkpoint holds no tokenizer, and neither tokenizer.bin nor tok"
                        + config.vocabSize() + ".bin is beside it: pass --tokenizer"));
        Tokenizer tok = loadTokenizer(tokenizerPath, config.vocabSize());
        return new LlamaModel(path.toString(), config, Llama2cCheckpoint.load(path, header, progress), tok);
    }

    /**
     * A tokenizer file: a Hugging Face tokenizer.json, or else a llama2.c tokenizer.bin.
     *
     * @param vocabSize the model's vocabulary, which a tokenizer.bin must hold
     * @throws ModelLoadException naming the file, for any problem with it
     */
    public static Tokenizer loadTokenizer(Path file, int vocabSize) {
        existingFile(file.toString());
        try {
            return file.getFileName().toString().endsWith(".json") ? BpeTokenizer.fromTokenizerJson(file)
                    : SentencePieceTokenizer.fromLlama2cFile(file, vocabSize);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file.toString(), withoutSource(e.getMessage(), file.toString()), e);
        }
    }

    /** The tokenizer's own messages often begin with the file already: it is named once. */
    private static String withoutSource(String message, String source) {
        return message != null && message.startsWith(source + ": ") ? message.substring(source.length() + 2)
                : String.valueOf(message);
    }
}
