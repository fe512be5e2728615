package io.minference.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a YAML file into plain maps, lists and scalars with {@link SafeYaml} (no tags naming classes, no aliases),
 * then maps that tree by hand onto the configuration records, so that every problem is reported with its key path.
 */
final class ConfigLoader {
    /** Configuration files are a few hundred bytes; anything this large is a wrong path, not a configuration. */
    private static final long MAX_FILE_BYTES = 1 << 20;

    private ConfigLoader() {
    }

    static MinferenceConfig load(Path file) {
        Object tree = parse(file, readText(file));
        if (tree == null) return MinferenceConfig.DEFAULTS;
        Section root = Section.root(file, tree);
        Path folder = file.toAbsolutePath().getParent();

        String model = root.string("model").map(m -> resolveModel(folder, m)).orElse(null);
        Path tokenizer = root.string("tokenizer").map(t -> folder.resolve(t).normalize()).orElse(null);
        String device = root.string("device", Limits::device).orElse(MinferenceConfig.DEFAULTS.device());
        GenerationConfig generation = root.section("generation").map(ConfigLoader::generation)
                .orElse(GenerationConfig.DEFAULTS);
        PrefillConfig prefill = root.section("prefill").map(ConfigLoader::prefill).orElse(PrefillConfig.DEFAULTS);
        AttentionConfig attention = attention(root, folder);
        KvCacheType kvCache = root.string("kv_cache", Limits::kvCache).flatMap(KvCacheType::byLabel)
                .orElse(MinferenceConfig.DEFAULTS.kvCache());
        KvOffload kvOffload = root.string("kv_offload", Limits::kvOffload).flatMap(KvOffload::byLabel)
                .orElse(MinferenceConfig.DEFAULTS.kvOffload());
        root.rejectUnknownKeys();
        return new MinferenceConfig(model, tokenizer, device, generation, prefill, attention, kvCache, kvOffload);
    }

    private static AttentionConfig attention(Section root, Path folder) {
        AttentionConfig d = AttentionConfig.DEFAULTS;
        Path patterns = root.string("patterns").map(p -> folder.resolve(p).normalize()).orElse(null);
        AttentionMode mode = root.string("attention", Limits::attention).map(AttentionMode::parse)
                .orElse(patterns != null ? AttentionMode.MINFERENCE : d.mode());
        int threshold = root.integer("sparse_threshold", Limits::sparseThreshold).map(Long::intValue)
                .orElse(d.sparseThreshold());
        Double budget = root.string("budget", Limits::budget).flatMap(Limits::parseBudget).orElse(null);
        if (patterns != null) {
            Limits.patternsIn(mode).ifPresent(p -> { throw ConfigException.atKey(root.file(), "patterns", p); });
        }
        if (budget != null) {
            Limits.budgetIn(mode, patterns != null)
                    .ifPresent(p -> { throw ConfigException.atKey(root.file(), "budget", p); });
        }
        return new AttentionConfig(mode, patterns, threshold, budget);
    }

    private static GenerationConfig generation(Section s) {
        GenerationConfig d = GenerationConfig.DEFAULTS;
        var config = new GenerationConfig(
                s.integer("max_tokens", Limits::maxTokens).map(Long::intValue).orElse(d.maxTokens()),
                s.number("temperature", Limits::temperature).orElse(d.temperature()),
                s.number("top_p", Limits::topP).orElse(d.topP()),
                s.integer("seed").orElse(d.seed()),
                s.bool("chat").orElse(d.chat()));
        s.rejectUnknownKeys();
        return config;
    }

    private static PrefillConfig prefill(Section s) {
        var config = new PrefillConfig(
                s.integer("block_size", Limits::blockSize).map(Long::intValue).orElse(PrefillConfig.DEFAULTS.blockSize()));
        s.rejectUnknownKeys();
        return config;
    }

    /** Relative model paths are relative to the configuration file, so that a file works from any directory. */
    private static String resolveModel(Path folder, String model) {
        return model.startsWith("synthetic:") ? model : folder.resolve(model).normalize().toString();
    }

    private static String readText(Path file) {
        try {
            if (Files.isDirectory(file)) throw ConfigException.ofFile(file, "is a directory, not a configuration file");
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw ConfigException.ofFile(file, "is " + size + " bytes, too large for a configuration file");
            }
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw ConfigException.ofFile(file, "configuration file not found");
        } catch (CharacterCodingException e) {
            throw ConfigException.ofFile(file, "is not UTF-8 text");
        } catch (IOException e) {
            throw ConfigException.ofFile(file, "cannot read configuration file: " + e);
        }
    }

    private static Object parse(Path file, String text) {
        try {
            return SafeYaml.load(text);
        } catch (SafeYaml.Problem p) {
            if (p.keyPath() != null) throw ConfigException.atKey(file, p.keyPath(), p.getMessage());
            if (p.line() > 0) throw ConfigException.atPosition(file, p.line(), p.column(), p.getMessage());
            throw ConfigException.ofFile(file, p.getMessage());
        }
    }
}
