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
        var flags = new ConfigOverrides("/m/b.gguf", null, "cuda:0", null, 0.0, null, 11L, false, null);
        MinferenceConfig merged = flags.applyTo(FILE);
        assertEquals(new MinferenceConfig("/m/b.gguf", Path.of("/m/t.json"), "cuda:0",
                new GenerationConfig(100, 0.0, 0.9, 11, false), new PrefillConfig(32)), merged);
    }

    @Test
    void noOverridesLeaveTheConfigurationAsItIs() {
        assertEquals(FILE, ConfigOverrides.NONE.applyTo(FILE));
        assertSame(null, ConfigOverrides.NONE.applyTo(MinferenceConfig.DEFAULTS).model());
    }

    @Test
    void anOutOfRangeOverrideIsRefused() {
        var flags = new ConfigOverrides(null, null, null, null, null, 2.0, null, null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> flags.applyTo(FILE));
        assertEquals("top_p must be a number in (0, 1] (1 disables nucleus sampling), got 2.0", e.getMessage());
    }
}
