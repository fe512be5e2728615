package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line against the real loader, tokenizers and generator and the shared test models. Each test skips
 * when its files are absent.
 */
class CliEndToEndTest {
    private static final String ISHMAEL = "Call me Ishmael. Some years ago, never mind how long precisely";
    private static final String ISHMAEL_CONTINUATION =
            ", the average of the other people, the best thing is to do. It is a big and easy thing to do.";
    private static final String LILY =
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    @TempDir
    Path dir;

    private static String shared(String relative) {
        Optional<Path> file = SharedData.file(relative);
        assumeTrue(file.isPresent(), "shared data " + relative + " is absent");
        return file.get().toString();
    }

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void generateStoriesGreedily() {
        CliRun run = run("generate", "--model", shared("models/stories260K.bin"),
                "--tokenizer", shared("models/tok512.bin"), "--prompt", "", "--temperature", "0",
                "--max-tokens", "60", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith(LILY), run.toString());
        assertTrue(run.err().contains("generated: 60 tokens"), run.toString());
        assertTrue(run.err().matches("(?s).*prompt: 1 tokens, prefill .* tokens/s\\).*"), run.toString());
    }

    @Test
    void generateFromTheGgufModelContinuesIshmael() {
        CliRun run = run("generate", "--model", shared("models/tiny-passkey-llama-f16.gguf"), "--prompt", ISHMAEL,
                "--temperature", "0", "--max-tokens", "40", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith(ISHMAEL_CONTINUATION), run.toString());
        assertFalse(run.out().contains(ISHMAEL), "the prompt is not echoed: " + run);
    }

    @Test
    void aGzippedPromptFileAndTheExampleConfigGiveTheSameContinuation() throws IOException {
        String model = shared("models/tiny-passkey-llama-f16.gguf");
        Path prompt = dir.resolve("ishmael.txt.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(prompt))) {
            out.write((ISHMAEL + "\n").getBytes(StandardCharsets.UTF_8));
        }
        Path example = Path.of(System.getProperty("minference.projectRoot", "..")).resolve("examples/minference.yaml");
        // The example names the same model, relative to itself; the flags override its sampling settings.
        CliRun run = run("generate", "--config", example.toString(), "--prompt-file", prompt.toString(),
                "--temperature", "0", "--max-tokens", "40");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith(ISHMAEL_CONTINUATION), run.toString());
        assertTrue(model.endsWith("tiny-passkey-llama-f16.gguf"));
    }

    @Test
    void tokenizeWithTheLlama3Tokenizer() {
        CliRun run = run("tokenize", "--tokenizer", shared("tokenizers/llama3-tokenizer.json"), "--text", "Hello world");
        assertEquals(0, run.exitCode(), run.toString());
        assertEquals("9906 1917", run.out().strip());
    }

    @Test
    void aPromptLongerThanTheContextIsOneLine() {
        String longPrompt = "Once upon a time there was a cat. ".repeat(200); // far over 512 tokens
        CliRun run = run("generate", "--model", shared("models/stories260K.bin"),
                "--tokenizer", shared("models/tok512.bin"), "--prompt", longPrompt, "--max-tokens", "5");
        assertEquals(1, run.exitCode(), run.toString());
        assertEquals("", run.out());
        String[] lines = run.errLines();
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("minference: ") && last.contains("512"), run.toString());
        assertFalse(run.err().contains("\tat "), run.toString());
    }

    @Test
    void infoPrintsTheGgufDimensions() {
        CliRun run = run("info", "--model", shared("models/tiny-passkey-llama-f16.gguf"));
        assertEquals(0, run.exitCode(), run.toString());
        String out = run.out();
        assertTrue(out.contains("embedding length     384\n"), out);
        assertTrue(out.contains("feed-forward length  1024\n"), out);
        assertTrue(out.contains("blocks               6\n"), out);
        assertTrue(out.contains("heads                6 (head dim 64)\n"), out);
        assertTrue(out.contains("KV heads             2 (3 query heads each)\n"), out);
        assertTrue(out.contains("vocabulary           4096\n"), out);
        assertTrue(out.contains("F16"), out);
    }
}
