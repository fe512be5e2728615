package io.minference.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttentionConfigTest {
    @TempDir
    Path dir;

    private MinferenceConfig load(String yaml) throws IOException {
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, yaml);
        return MinferenceConfig.load(file);
    }

    private String failure(String yaml) throws IOException {
        ConfigException e = assertThrows(ConfigException.class, () -> load(yaml));
        assertTrue(e.getMessage().startsWith(dir.resolve("c.yaml") + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void denseWithTheDefaultThresholdUnlessSet() throws IOException {
        assertEquals(AttentionConfig.DEFAULTS, load("device: cpu\n").attention());
        assertEquals(new AttentionConfig(AttentionMode.DENSE, null, 32768, null), AttentionConfig.DEFAULTS);
    }

    @Test
    void everyKeyIsRead() throws IOException {
        assertEquals(new AttentionConfig(AttentionMode.MINFERENCE, dir.resolve("p/x.json"), 0, null),
                load("attention: minference\npatterns: p/x.json\nsparse_threshold: 0\n").attention());
        assertEquals(new AttentionConfig(AttentionMode.VERTICAL_SLASH, null, 4096, 0.95),
                load("attention: vertical-slash\nsparse_threshold: 4096\nbudget: mass:0.95\n").attention());
        assertEquals(AttentionMode.MINFERENCE, load("patterns: x.yaml\n").attention().mode(),
                "a pattern file alone means minference");
        for (AttentionMode mode : AttentionMode.values()) {
            assertEquals(mode, load("attention: " + mode.label() + "\n").attention().mode());
        }
    }

    @Test
    void badValuesNameTheKeyAndTheRange() throws IOException {
        assertTrue(failure("attention: sparse\n").endsWith("attention: must be one of dense, minference, a-shape,"
                + " vertical-slash, block-sparse, got 'sparse'"));
        assertTrue(failure("sparse_threshold: -1\n").endsWith("sparse_threshold: must be a whole number of tokens"
                + " from 0 (every prompt sparse) to 2147483647, got -1"));
        assertTrue(failure("sparse_threshold: many\n").endsWith("sparse_threshold: must be an integer, got the string"
                + " 'many'"));
        assertTrue(failure("attention: minference\nbudget: mass:1.5\n")
                .endsWith("budget: must be mass:γ with γ in (0, 1], e.g. mass:0.95, got 'mass:1.5'"));
        assertTrue(failure("attention: minference\nbudget: 1000\n").endsWith("budget: must be a string, got the"
                + " integer 1000"));
        assertTrue(failure("attention: a-shape\npatterns: p.yaml\n")
                .endsWith("patterns: a pattern file is read only with attention minference, not a-shape"));
        assertTrue(failure("attention: a-shape\nbudget: mass:0.9\n")
                .endsWith("budget: a budget applies to minference, vertical-slash and block-sparse, not a-shape"));
        assertTrue(failure("patterns: p.yaml\nbudget: mass:0.9\n")
                .endsWith("budget: a budget cannot be combined with a pattern file, whose heads carry their own"));
        assertTrue(failure("sparse_treshold: 3\n").endsWith("unknown key; did you mean 'sparse_threshold'?"));
    }

    @Test
    void flagsOverrideTheFileAndAPatternFileAloneMeansMinference() {
        var file = new MinferenceConfig(null, null, "cpu", GenerationConfig.DEFAULTS, PrefillConfig.DEFAULTS,
                new AttentionConfig(AttentionMode.VERTICAL_SLASH, null, 100, 0.9));
        var flags = ConfigOverrides.NONE.withAttention(null, null, 0, null);
        assertEquals(new AttentionConfig(AttentionMode.VERTICAL_SLASH, null, 0, 0.9), flags.applyTo(file).attention());
        var patterns = ConfigOverrides.NONE.withAttention(null, Path.of("p.yaml"), null, null);
        assertEquals(new AttentionConfig(AttentionMode.MINFERENCE, Path.of("p.yaml"), 32768, null),
                patterns.applyTo(MinferenceConfig.DEFAULTS).attention());
    }

    @Test
    void limitsParseBudgets() {
        assertEquals(Optional.of(0.5), Limits.parseBudget("mass:0.5"));
        assertEquals(Optional.empty(), Limits.parseBudget("mass:0"));
        assertEquals(Optional.empty(), Limits.parseBudget("0.5"));
        assertEquals(Optional.empty(), Limits.parseBudget("mass:x"));
        assertThrows(IllegalArgumentException.class,
                () -> new AttentionConfig(AttentionMode.DENSE, null, 8192, 0.9));
        assertThrows(IllegalArgumentException.class,
                () -> new AttentionConfig(AttentionMode.MINFERENCE, null, -1, null));
    }

    @Test
    void theKvCacheKeyTakesBf16Fp8OrInt8() throws IOException {
        assertEquals(KvCacheType.BF16, load("device: cpu\n").kvCache());
        assertEquals(KvCacheType.FP8, load("kv_cache: fp8\n").kvCache());
        assertEquals(KvCacheType.INT8, load("kv_cache: int8\n").kvCache());
        assertEquals(KvCacheType.INT8, load("kv_cache: ' Int8 '\n").kvCache());
        assertEquals(KvCacheType.BF16, load("kv_cache: BF16\n").kvCache());
        assertTrue(failure("kv_cache: int4\n").endsWith("kv_cache: must be one of bf16, fp8, int8, got 'int4'"));
        assertTrue(failure("kv_cache: e4m3\n").endsWith("kv_cache: must be one of bf16, fp8, int8, got 'e4m3'"));
        assertTrue(failure("kv_cache: [int8]\n").contains("kv_cache"));
        assertEquals(List.of(false, true, true), Arrays.stream(KvCacheType.values()).map(KvCacheType::coded).toList());
        assertEquals(KvCacheType.FP8, ConfigOverrides.NONE
                .withKvCache(KvCacheType.FP8).applyTo(load("kv_cache: bf16\n")).kvCache(), "the flag wins");
        assertEquals(KvCacheType.FP8, ConfigOverrides.NONE.applyTo(load("kv_cache: fp8\n")).kvCache());
        assertEquals(KvCacheType.INT8, ConfigOverrides.NONE.withKvCache(KvCacheType.INT8)
                .applyTo(load("kv_cache: fp8\n")).kvCache(), "the flag wins");
    }

    @Test
    void theKvOffloadKeyTakesNoneOrHost() throws IOException {
        assertEquals(KvOffload.NONE, load("device: cpu\n").kvOffload());
        assertEquals(KvOffload.HOST, load("kv_offload: host\n").kvOffload());
        assertEquals(KvOffload.NONE, load("kv_offload: NONE\n").kvOffload());
        assertTrue(failure("kv_offload: disk\n").endsWith("kv_offload: must be one of none, host, got 'disk'"));
        assertTrue(failure("kv_offload: [host]\n").contains("kv_offload"));
        assertEquals(KvOffload.HOST, ConfigOverrides.NONE.withKvOffload(KvOffload.HOST)
                .applyTo(load("kv_offload: none\n")).kvOffload(), "the flag wins");
        assertEquals(KvOffload.HOST, ConfigOverrides.NONE.withKvCache(KvCacheType.FP8)
                .applyTo(load("kv_offload: host\n")).kvOffload(), "another flag keeps the file's offload");
    }
}
