package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.minference.runtime.cuda.CudaDriver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line's parsing, validation and error reporting; nothing here needs a working model. */
class CliTest {
    @TempDir
    Path dir;

    /** A file that exists, so that a run gets past the model check (and then fails in a loader stub or on input). */
    private Path someModelFile() throws IOException {
        return Files.writeString(dir.resolve("model.bin"), "not really a model");
    }

    private static void assertInvalidInput(CliRun run, String message) {
        assertEquals(2, run.exitCode(), run.toString());
        assertTrue(run.err().contains(message), run.toString());
        assertTrue(run.err().contains("--help' for more information."), run.toString());
        assertEquals("", run.out());
    }

    private static void assertFailure(CliRun run, String message) {
        assertEquals(1, run.exitCode(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertEquals("minference: " + message, run.errLines()[0]);
        assertEquals("", run.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"generate", "tokenize", "info", "bench", "gpu-bench"})
    void eachCommandHasHelp(String command) {
        for (String flag : new String[]{"--help", "-h"}) {
            CliRun run = CliRun.of(command, flag);
            assertEquals(0, run.exitCode(), run.toString());
            assertTrue(run.out().startsWith("Usage: minference " + command), run.toString());
            assertTrue(run.out().contains("--config=FILE"), run.toString());
        }
        CliRun help = CliRun.of("help", command);
        assertTrue(help.out().startsWith("Usage: minference " + command), help.toString());
    }

    @Test
    void rootHelpListsTheCommands() {
        CliRun run = CliRun.of("--help");
        assertEquals(0, run.exitCode());
        for (String command : new String[]{"generate", "tokenize", "info", "bench", "gpu-bench"}) {
            assertTrue(run.out().contains("  " + command), run.toString());
        }
    }

    @Test
    void versionNamesTheProjectVersion() {
        CliRun run = CliRun.of("--version");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().matches("minference \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R(?s).*"), run.toString());
    }

    @Test
    void everySubcommandAnswersVersion() {
        String expected = CliRun.of("--version").out();
        for (String[] command : new String[][] {{"generate"}, {"tokenize"}, {"info"}, {"bench"}, {"gpu-bench"},
                {"search-patterns"}, {"eval"}, {"eval", "needle"}, {"eval", "ppl"}, {"eval", "recall"}, {"serve"},
                {"demo"}, {"demo-record"}}) {
            String[] args = Arrays.copyOf(command, command.length + 1);
            args[command.length] = "--version";
            CliRun run = CliRun.of(args);
            assertEquals(0, run.exitCode(), String.join(" ", args) + ": " + run);
            assertEquals(expected, run.out(), String.join(" ", args));
        }
    }

    @Test
    void noCommandIsInvalidInput() {
        assertInvalidInput(CliRun.of(), "Missing required subcommand");
    }

    @Test
    void unknownFlagSuggestsAndHints() {
        assertInvalidInput(CliRun.of("generate", "--prompt", "hi", "--bogus"), "Unknown option: '--bogus'");
        CliRun typo = CliRun.of("generate", "--prompt", "hi", "--max-token", "5");
        assertInvalidInput(typo, "Unknown options: '--max-token', '5'");
        assertTrue(typo.err().contains("Possible solutions: --max-tokens"), typo.toString());
    }

    @Test
    void missingRequiredOptions() {
        assertInvalidInput(CliRun.of("generate", "--model", "m.gguf"),
                "Missing required argument (specify one of these): (--prompt=TEXT | --prompt-file=PATH)");
        assertInvalidInput(CliRun.of("generate", "--prompt", "hi"), "Missing required option: '--model=PATH'");
        assertInvalidInput(CliRun.of("tokenize", "--tokenizer", "t.json"), "Missing required option: '--text=TEXT'");
        assertInvalidInput(CliRun.of("tokenize", "--text", "hi"), "Missing required option: '--model=PATH' or");
        assertInvalidInput(CliRun.of("info"), "Missing required option: '--model=PATH'");
    }

    @Test
    void promptAndPromptFileExcludeEachOther() {
        assertInvalidInput(CliRun.of("generate", "--model", "m.gguf", "--prompt", "hi", "--prompt-file", "p.txt"),
                "--prompt=TEXT, --prompt-file=PATH are mutually exclusive");
        assertInvalidInput(CliRun.of("tokenize", "--model", "m.gguf", "--tokenizer", "t.json", "--text", "hi"),
                "mutually exclusive");
    }

    @Test
    void outOfRangeFlagsNameTheFlagAndTheRange() {
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--max-tokens", "-5"),
                "Invalid value for option '--max-tokens': must be an integer from 1 to 2147483647, got -5");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--max-tokens", "0"),
                "got 0");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--top-p", "1.5"),
                "Invalid value for option '--top-p': must be a number in (0, 1]");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--top-p", "0"),
                "Invalid value for option '--top-p'");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--temperature", "-1"),
                "Invalid value for option '--temperature': must be a finite number >= 0");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--device", "gpu"),
                "Invalid value for option '--device': must be auto, cpu, cuda or cuda:N, got 'gpu'");
        assertInvalidInput(CliRun.of("generate", "--model", "m", "--prompt", "hi", "--max-tokens", "many"),
                "Invalid value for option '--max-tokens': 'many' is not an int");
    }

    @Test
    void gpuBenchWithoutAGpuNamesWhatIsMissing() {
        var cuda = CudaDriver.availability();
        assumeFalse(cuda.available(), "this machine has a GPU");
        assertFailure(CliRun.of("gpu-bench"), "gpu-bench needs a CUDA GPU: " + cuda.reason());
    }

    @Test
    void cudaDeviceWithoutAGpuNamesWhatIsMissing() throws IOException {
        var cuda = CudaDriver.availability();
        assumeFalse(cuda.available(), "this machine has a GPU");
        CliRun run = CliRun.of("generate", "--model", "synthetic:tiny", "--prompt", "x", "--device", "cuda");
        assertFailure(run, "--device cuda: no usable CUDA GPU: " + cuda.reason());
    }

    @Test
    void aMissingModelFileIsOneLine() {
        Path missing = dir.resolve("missing.gguf");
        assertFailure(CliRun.of("generate", "--model", missing.toString(), "--prompt", "hi"),
                "model file not found: " + missing);
        assertFailure(CliRun.of("info", "--model", missing.toString()), "model file not found: " + missing);
        assertFailure(CliRun.of("tokenize", "--model", missing.toString(), "--text", "hi"),
                "model file not found: " + missing);
        assertFailure(CliRun.of("info", "--model", dir.toString()), "model file " + dir + " is a directory");
    }

    @Test
    void aMissingTokenizerOrPromptFileIsOneLine() throws IOException {
        String model = someModelFile().toString();
        Path missing = dir.resolve("nothing.txt");
        assertFailure(CliRun.of("generate", "--model", model, "--prompt-file", missing.toString()),
                "prompt file not found: " + missing);
        assertFailure(CliRun.of("generate", "--model", model, "--tokenizer", missing.toString(), "--prompt", "hi"),
                "tokenizer file not found: " + missing);
        assertFailure(CliRun.of("tokenize", "--tokenizer", missing.toString(), "--text", "hi"),
                "tokenizer file not found: " + missing);
    }

    @Test
    void aBadPromptFileIsOneLine() throws IOException {
        String model = someModelFile().toString();
        Path latin1 = Files.write(dir.resolve("latin1.txt"), new byte[]{'c', 'a', 'f', (byte) 0xE9});
        assertFailure(CliRun.of("generate", "--model", model, "--prompt-file", latin1.toString()),
                "prompt file " + latin1 + " is not UTF-8 text (compressed prompts must be gzip, bzip2 or xz)");
    }

    @Test
    void aMalformedConfigNamesFileAndPosition() throws IOException {
        Path config = Files.writeString(dir.resolve("bad.yaml"), "model: x\ngeneration:\n  top_p: [\n");
        CliRun run = CliRun.of("generate", "--config", config.toString(), "--prompt", "hi");
        assertEquals(2, run.exitCode(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().startsWith("minference: " + config + ":4:1: malformed YAML: "), run.toString());
    }

    @Test
    void anInvalidConfigValueNamesTheKey() throws IOException {
        Path config = Files.writeString(dir.resolve("c.yaml"), "generation:\n  max_tokenz: 3\n");
        CliRun run = CliRun.of("generate", "--config", config.toString(), "--prompt", "hi", "--model", "m");
        assertEquals(2, run.exitCode(), run.toString());
        assertEquals("minference: " + config + ": generation.max_tokenz: unknown key; did you mean 'max_tokens'?",
                run.err().strip());
        Path missing = dir.resolve("none.yaml");
        CliRun none = CliRun.of("info", "--config", missing.toString());
        assertEquals("minference: " + missing + ": configuration file not found", none.err().strip());
    }

    @Test
    void theConfigSuppliesTheModelRelativeToItself() throws IOException {
        Path config = Files.writeString(dir.resolve("c.yaml"), "model: models/tiny.gguf\n");
        assertFailure(CliRun.of("info", "--config", config.toString()),
                "model file not found: " + dir.resolve("models/tiny.gguf"));
        // The flag wins over the file.
        Path other = dir.resolve("other.gguf");
        assertFailure(CliRun.of("info", "--config", config.toString(), "--model", other.toString()),
                "model file not found: " + other);
    }

    @Test
    void stackTracesOnlyWhenAskedFor() {
        String[] args = {"info", "--model", dir.resolve("missing.gguf").toString()};
        assertFalse(CliRun.of(args).err().contains("\tat "));
        String[] withFlag = {"info", "--stacktrace", "--model", dir.resolve("missing.gguf").toString()};
        CliRun flagged = CliRun.of(withFlag);
        assertEquals(1, flagged.exitCode());
        assertTrue(flagged.err().contains("\tat io.minference.app."), flagged.toString());
        CliRun fromEnvironment = CliRun.withEnvironment(Map.of("MINFERENCE_STACKTRACE", "1"), args);
        assertTrue(fromEnvironment.err().contains("\tat io.minference.app."), fromEnvironment.toString());
    }

    @Test
    void theBareCommandLineGivesTheSameExitCodes() {
        CliRun unknown = CliRun.bare("generate", "--bogus");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("Unknown option: '--bogus'"), unknown.toString());
        CliRun failure = CliRun.bare("info", "--model", dir.resolve("missing.gguf").toString());
        assertEquals(1, failure.exitCode());
        assertEquals("minference: model file not found: " + dir.resolve("missing.gguf"), failure.err().strip());
    }

    @Test
    void infoPrintsNumbersPlainly() {
        assertEquals("500000", InfoCommand.plain(500000f));
        assertEquals("0.00001", InfoCommand.plain(1e-5f));
        assertEquals("0.5", InfoCommand.plain(0.5f));
    }
}
