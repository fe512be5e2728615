package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.generate.PasskeyPrompt;
import io.minference.runtime.SharedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wrong {@code -Dminference.cpu.amx} is one line naming the setting and what it takes, not a stack trace: the
 * setting is read once per JVM, so the command runs in a JVM of its own.
 */
class AmxSettingTest {
    @TempDir
    Path dir;

    @Test
    void aWrongSettingIsOneLineNamingIt() throws Exception {
        Path model = SharedData.projectRoot().orElseThrow().resolve(PasskeyPrompt.SHIPPED_MODEL);
        String java = ProcessHandle.current().info().command().orElse("java");
        Path err = dir.resolve("err.txt");
        Process bench = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Dminference.cpu.amx=yes", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "bench", "--model", model.toString(),
                "--lengths", "32", "--decode-tokens", "1", "--device", "cpu")
                .redirectError(err.toFile()).redirectOutput(dir.resolve("out.txt").toFile()).start();
        assertTrue(bench.waitFor(120, TimeUnit.SECONDS), "bench did not finish");
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(1, bench.exitValue(), stderr);
        assertTrue(stderr.contains("-Dminference.cpu.amx must be true or false, got 'yes'"), stderr);
        assertFalse(stderr.contains("\tat "), "a stack trace: " + stderr);
    }
}
