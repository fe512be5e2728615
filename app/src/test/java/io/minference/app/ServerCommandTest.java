package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The serve and demo commands' flags and failures (the server itself is tested in io.minference.app.server). */
class ServerCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"serve", "demo"})
    void hasHelpAndIsListed(String command) {
        CliRun run = CliRun.of(command, "--help");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("Usage: minference " + command), run.toString());
        for (String flag : new String[] {"--host", "--port", "--max-body", "--queue", "--model", "--request-timeout",
                "--max-tokens-limit", "--idle-timeout", "--max-connections"}) {
            assertTrue(run.out().contains(flag), flag + " in " + run);
        }
        assertTrue(CliRun.of("--help").out().contains("  " + command));
    }

    @Test
    void refusesBadFlagsWithExitCode2() {
        CliRun port = CliRun.of("serve", "--model", "synthetic:tiny", "--port", "70000");
        assertEquals(2, port.exitCode(), port.toString());
        assertTrue(port.err().contains("Invalid value for option '--port': must be from 0 to 65535, got 70000"),
                port.toString());
        CliRun queue = CliRun.of("serve", "--model", "synthetic:tiny", "--queue", "-1");
        assertEquals(2, queue.exitCode(), queue.toString());
        assertTrue(queue.err().contains("'--queue': must be at least 0 requests, got -1"), queue.toString());
        for (String flag : new String[] {"--request-timeout", "--max-tokens-limit", "--idle-timeout",
                "--max-connections"}) {
            CliRun zero = CliRun.of("serve", "--model", "synthetic:tiny", flag, "0");
            assertEquals(2, zero.exitCode(), zero.toString());
            assertTrue(zero.err().contains("'" + flag + "': must be at least 1 "), zero.toString());
        }
        CliRun body = CliRun.of("demo", "--model", "synthetic:tiny", "--max-body", "0");
        assertEquals(2, body.exitCode(), body.toString());
        // without --model, serve takes the model shipped under minference.home; here a folder without one
        System.setProperty("minference.home", dir.toString());
        try {
            CliRun noModel = CliRun.of("serve");
            assertEquals(2, noModel.exitCode(), noModel.toString());
            assertTrue(noModel.err().contains("Missing required option: '--model=PATH' (or model: in the --config"
                    + " file; the default models/tiny-passkey-llama-q8_0.gguf is not in this installation)"),
                    noModel.toString());
        } finally {
            System.clearProperty("minference.home");
        }
    }

    @Test
    void failsWithOneLineForMissingFilesAndABusyPort() throws Exception {
        CliRun model = CliRun.of("serve", "--model", dir.resolve("none.gguf").toString());
        assertEquals(1, model.exitCode(), model.toString());
        assertEquals("minference: model file not found: " + dir.resolve("none.gguf"), model.errLines()[0]);

        CliRun files = CliRun.of("demo", "--model", "synthetic:tiny", "--files", dir.resolve("texts").toString());
        assertEquals(1, files.exitCode(), files.toString());
        assertEquals("minference: files folder not found (or not a directory): " + dir.resolve("texts"),
                files.errLines()[0]);

        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            CliRun busy = CliRun.of("serve", "--model", "synthetic:tiny", "--device", "cpu", "--port",
                    String.valueOf(port));
            assertEquals(1, busy.exitCode(), busy.toString());
            assertTrue(busy.err().contains("minference: cannot listen on 127.0.0.1:" + port), busy.toString());
        }
    }

    @Test
    void theModelIdIsTheFileNameOrTheSyntheticName() {
        assertEquals("synthetic:tiny", ServerCommand.modelId("synthetic:tiny"));
        assertEquals("model.gguf", ServerCommand.modelId("/some/where/model.gguf"));
    }
}
