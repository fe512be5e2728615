package io.minference.sparse.config;

import io.minference.sparse.PatternPlan;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads and writes pattern files (docs/sparse-attention.md, "Pattern files"): the project's YAML format and
 * MInference's JSON, told apart by the extension ({@code .yaml}/{@code .yml}, {@code .json}) or, for another name,
 * by the content (a JSON list starts with {@code [}).
 */
public final class PatternFiles {
    /** A pattern file for a 1M-token model is a few hundred kilobytes; more is a wrong path. */
    private static final long MAX_FILE_BYTES = 16L << 20;

    public enum Format { YAML, MINFERENCE_JSON }

    private PatternFiles() {
    }

    private static final System.Logger LOG = System.getLogger(PatternFiles.class.getName());
    /** Where warnings go when the caller names no other place: the log, at WARNING (stderr by default). */
    private static final Consumer<String> LOG_WARNINGS = message -> LOG.log(System.Logger.Level.WARNING, message);

    /** The file's plan, built-in patterns only. */
    public static PatternPlan read(Path file) {
        return read(file, Set.of());
    }

    /**
     * The file's plan.
     *
     * @param customPatterns names of patterns added through the SPI that YAML entries may use besides the built-ins
     */
    public static PatternPlan read(Path file, Set<String> customPatterns) {
        return read(file, customPatterns, -1, -1, LOG_WARNINGS);
    }

    /**
     * The file's plan, refused unless it has exactly the model's layers and heads. MInference's JSON may leave heads
     * and layers out, as MInference allows: they get its default, and a warning to the log names them.
     */
    public static PatternPlan readFor(Path file, Set<String> customPatterns, int numLayers, int numHeads) {
        return readFor(file, customPatterns, numLayers, numHeads, LOG_WARNINGS);
    }

    /** As {@link #readFor(Path, Set, int, int)}, with the warnings given to {@code warnings}. */
    public static PatternPlan readFor(Path file, Set<String> customPatterns, int numLayers, int numHeads,
                                      Consumer<String> warnings) {
        PatternPlan plan = read(file, customPatterns, numLayers, numHeads, warnings);
        try {
            plan.requireShape(numLayers, numHeads, file.toString());
        } catch (IllegalArgumentException e) {
            throw new PatternFileException(file, e.getMessage().substring(file.toString().length() + 2), e);
        }
        return plan;
    }

    private static PatternPlan read(Path file, Set<String> customPatterns, int numLayers, int numHeads,
                                    Consumer<String> warnings) {
        String text = readText(file);
        return switch (detect(file, text)) {
            case YAML -> YamlPatterns.parse(file, text, customPatterns);
            case MINFERENCE_JSON -> MInferenceJson.parse(file, text, numLayers, numHeads, warnings);
        };
    }

    /** Writes the plan in the project's YAML format, with {@code comment} (may be null) as leading comment lines. */
    public static void write(Path file, PatternPlan plan, String comment) throws IOException {
        Files.writeString(file, toYaml(plan, comment));
    }

    public static String toYaml(PatternPlan plan, String comment) {
        return YamlPatterns.format(plan, comment);
    }

    static Format detect(Path file, String text) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".json")) return Format.MINFERENCE_JSON;
        if (name.endsWith(".yaml") || name.endsWith(".yml")) return Format.YAML;
        return text.stripLeading().startsWith("[") ? Format.MINFERENCE_JSON : Format.YAML;
    }

    private static String readText(Path file) {
        try {
            if (Files.isDirectory(file)) throw new PatternFileException(file, "is a directory, not a pattern file");
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new PatternFileException(file, "is " + size + " bytes, too large for a pattern file");
            }
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (NoSuchFileException e) {
            throw new PatternFileException(file, "pattern file not found");
        } catch (CharacterCodingException e) {
            throw new PatternFileException(file, "is not UTF-8 text");
        } catch (IOException e) {
            throw new PatternFileException(file, "cannot read the pattern file: " + e, e);
        }
    }
}
