package io.minference.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigOverridesTest {
    private static final MinferenceConfig FILE = new MinferenceConfig("/m/a.gguf", Path.of("/m/t.json"), "cpu",
            new GenerationConfig(100, 0.5, 0.9, 7, true), new PrefillConfig(32));

    @Test
    void givenFlagsWinAndTheRestComesFromTheFile() {
        var flags = ConfigOverrides.NONE.withModel("/m/b.gguf", null).withDevice("cuda:0")
                .withSampling(null, 0.0, null, 11L, false);
        MinferenceConfig merged = flags.applyTo(FILE);
        assertEquals(new MinferenceConfig("/m/b.gguf", Path.of("/m/t.json"), "cuda:0",
                new GenerationConfig(100, 0.0, 0.9, 11, false), new PrefillConfig(32)), merged);
    }

    @Test
    void eachFlagGroupKeepsTheOthers() {
        var flags = ConfigOverrides.NONE.withModel("/m/b.gguf", Path.of("/m/u.json"))
                .withAttention(AttentionMode.MINFERENCE, Path.of("p.json"), 0, null)
                .withSampling(5, null, null, null, null).withDevice("cuda:1")
                .withKvCache(KvCacheType.INT8).withKvOffload(KvOffload.HOST);
        MinferenceConfig merged = flags.applyTo(FILE);
        assertEquals("/m/b.gguf", merged.model());
        assertEquals(Path.of("/m/u.json"), merged.tokenizer());
        assertEquals("cuda:1", merged.device());
        assertEquals(new GenerationConfig(5, 0.5, 0.9, 7, true), merged.generation());
        assertEquals(new PrefillConfig(32), merged.prefill(), "the block size is the file's: it has no flag");
        assertEquals(new AttentionConfig(AttentionMode.MINFERENCE, Path.of("p.json"), 0,
                AttentionConfig.DEFAULTS.massBudget()), merged.attention());
        assertEquals(KvCacheType.INT8, merged.kvCache());
        assertEquals(KvOffload.HOST, merged.kvOffload());
    }

    @Test
    void noOverridesLeaveTheConfigurationAsItIs() {
        assertEquals(FILE, ConfigOverrides.NONE.applyTo(FILE));
        assertSame(null, ConfigOverrides.NONE.applyTo(MinferenceConfig.DEFAULTS).model());
    }

    @Test
    void anOutOfRangeOverrideIsRefused() {
        var flags = ConfigOverrides.NONE.withSampling(null, null, 2.0, null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> flags.applyTo(FILE));
        assertEquals("top_p must be a number in (0, 1] (1 disables nucleus sampling), got 2.0", e.getMessage());
    }
}
