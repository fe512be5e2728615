package io.minference.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Wrong arguments get exit status 2 and a line that names the problem, before anything is written or loaded. */
class GpuLoadBenchTest {
    @TempDir
    Path dir;

    @Test
    void badArgumentsAreNamed() throws IOException {
        assertRefused("usage:", "load");
        assertRefused("usage:", "read", "x.gguf");
        assertRefused("LAYERS must be a positive integer, got 'many'", "write", dir.resolve("a.gguf").toString(), "many");
        assertRefused("LAYERS must be a positive integer, got '0'", "write", dir.resolve("a.gguf").toString(), "0");
        assertRefused("ROUNDS must be a positive integer, got '-1'", "load", dir.toString(), "-1");
        assertRefused("no such file: " + dir.resolve("missing.gguf"), "load", dir.resolve("missing.gguf").toString());
    }

    private static void assertRefused(String message, String... args) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int status = GpuLoadBench.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(2, status, out);
        assertTrue(out.contains(message), out);
    }
}
