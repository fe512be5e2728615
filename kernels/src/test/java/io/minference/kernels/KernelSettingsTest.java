package io.minference.kernels;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A named setting: its spellings in any case, the fallback when unset, anything else refused by name. */
class KernelSettingsTest {
    private static final String PROPERTY = "minference.test.kernel-settings";

    @Test
    void aSpellingInAnyCaseNamesItsChoice() {
        List<String> choices = List.of("wait", "warp", "async");
        assertEquals("warp", KernelSettings.parse(PROPERTY, " WARP ", choices, c -> c));
        assertEquals(Boolean.FALSE, KernelSettings.parse(PROPERTY, "shifts", List.of(true, false),
                chosen -> chosen ? "permute" : "shifts"));
    }

    @Test
    void anythingElseIsAnErrorListingTheSpellings() {
        var three = assertThrows(IllegalArgumentException.class,
                () -> KernelSettings.parse(PROPERTY, "asynch", List.of("wait", "warp", "async"), c -> c));
        assertEquals(PROPERTY + " must be wait, warp or async, not 'asynch'", three.getMessage());
        var two = assertThrows(IllegalArgumentException.class,
                () -> KernelSettings.parse(PROPERTY, "", List.of(true, false), String::valueOf));
        assertEquals(PROPERTY + " must be true or false, not ''", two.getMessage());
    }

    @Test
    void anUnsetPropertyGivesTheFallback() {
        try {
            System.clearProperty(PROPERTY);
            assertEquals("async", KernelSettings.configured(PROPERTY, "async", List.of("wait", "async"), c -> c));
            System.setProperty(PROPERTY, "Wait");
            assertEquals("wait", KernelSettings.configured(PROPERTY, "async", List.of("wait", "async"), c -> c));
        } finally {
            System.clearProperty(PROPERTY);
        }
    }
}
