package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sparse-attention flags of generate and bench, on the built-in synthetic:tiny model (4 layers, 8 heads). */
class SparseCliTest {
    @TempDir
    Path dir;

    private static final String[] GENERATE = {"generate", "--model", "synthetic:tiny", "--prompt", "Hello there",
            "--max-tokens", "2", "--device", "cpu"};

    private static CliRun generate(String... more) {
        String[] args = new String[GENERATE.length + more.length];
        System.arraycopy(GENERATE, 0, args, 0, GENERATE.length);
        System.arraycopy(more, 0, args, GENERATE.length, more.length);
        return CliRun.of(args);
    }

    private static void invalid(CliRun run, String message) {
        assertEquals(2, run.exitCode(), run.toString());
        assertTrue(run.err().contains(message), run.toString());
    }

    @Test
    void badAttentionFlagsAreInvalidInput() throws IOException {
        invalid(generate("--attention", "sparse"), "Invalid value for option '--attention': 'sparse' is not an"
                + " attention mode: use dense, minference, a-shape, vertical-slash, block-sparse");
        invalid(generate("--sparse-threshold", "-1"), "Invalid value for option '--sparse-threshold': must be a whole"
                + " number of tokens from 0 (every prompt sparse) to 2147483647, got -1");
        invalid(generate("--sparse-threshold", "lots"), "'lots' is not an int");
        invalid(generate("--budget", "0.9"), "Invalid value for option '--budget': must be mass:γ with γ in (0, 1],"
                + " e.g. mass:0.95, got '0.9'");
        invalid(generate("--budget", "mass:0"), "got 'mass:0'");
        invalid(generate("--attention", "a-shape", "--patterns", "p.yaml"), "Invalid combination of settings: a"
                + " pattern file is read only with attention minference, not a-shape");
        invalid(generate("--attention", "dense", "--budget", "mass:0.9"), "Invalid combination of settings: a budget"
                + " applies to minference, vertical-slash and block-sparse, not dense");
        invalid(generate("--patterns", "p.yaml", "--budget", "mass:0.9"), "a budget cannot be combined with a pattern"
                + " file");
        Path config = dir.resolve("c.yaml");
        Files.writeString(config, "attention: a-shape\n");
        invalid(generate("--config", config.toString(), "--patterns", "p.yaml"),
                "a pattern file is read only with attention minference, not a-shape");
        Files.writeString(config, "attention: bogus\n");
        invalid(generate("--config", config.toString()), config + ": attention: must be one of dense, minference,"
                + " a-shape, vertical-slash, block-sparse, got 'bogus'");
    }

    @Test
    void patternFileProblemsAreInvalidInputNamingTheFile() throws IOException {
        Path missing = dir.resolve("missing.yaml");
        invalid(generate("--patterns", missing.toString()), "minference: " + missing + ": pattern file not found");
        Path wrongShape = dir.resolve("p.yaml");
        Files.writeString(wrongShape, "num_layers: 32\nnum_heads: 8\ndefault: {pattern: dense}\n");
        invalid(generate("--patterns", wrongShape.toString()),
                "minference: " + wrongShape + ": the pattern configuration has 32 layers, the model 4");
        Path badHead = dir.resolve("q.json");
        Files.writeString(badHead, "[{\"0\": [\"dilated\", 1, 2, 0]}]");
        invalid(generate("--patterns", badHead.toString()), badHead + ": layer 0, head 0: unknown pattern 'dilated'");
    }

    @Test
    void shortPromptsStayDenseAndSaySo() {
        CliRun run = generate("--attention", "minference");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.err().contains("attention: dense (the prompt's 12 tokens are below the sparse threshold of"
                + " 32768)"), run.toString());
        CliRun dense = generate();
        assertEquals(0, dense.exitCode(), dense.toString());
        assertTrue(dense.err().contains("attention: dense\n") || dense.err().contains("attention: dense\r\n"),
                dense.toString());
        assertEquals(dense.out(), run.out());
    }

    /** A pattern file for synthetic:tiny (4 layers, 8 heads): A-shape, 16 sink tokens and a 128-token window. */
    private Path narrowAShape() throws IOException {
        Path file = dir.resolve("narrow.yaml");
        Files.writeString(file, "num_layers: 4\nnum_heads: 8\ndefault: {pattern: a-shape, sink: 16, local: 128}\n");
        return file;
    }

    /** The fraction in "computing 12.3% of the causal area", or in a bench table's "12.3%" cell. */
    private static double kept(String percent) {
        assertTrue(percent.endsWith("%"), percent);
        return Double.parseDouble(percent.substring(0, percent.length() - 1)) / 100;
    }

    @Test
    void thresholdZeroTakesTheSparsePath() throws IOException {
        // 1,000 bytes: 1,001 tokens with BOS for synthetic:tiny's byte vocabulary
        Path prompt = dir.resolve("long.txt");
        Files.writeString(prompt, "Call me Ishmael. ".repeat(59).substring(0, 1000));
        CliRun run = CliRun.of("generate", "--model", "synthetic:tiny", "--prompt-file", prompt.toString(),
                "--max-tokens", "2", "--device", "cpu", "--attention", "minference", "--patterns",
                narrowAShape().toString(), "--sparse-threshold", "0");
        assertEquals(0, run.exitCode(), run.toString());
        Matcher m = Pattern.compile("attention: minference \\(sparse prefill,"
                + " computing ([0-9.]+%) of the causal area\\)").matcher(run.err());
        assertTrue(m.find(), run.toString());
        double density = kept(m.group(1));
        System.out.println("generate, synthetic:tiny, 1001 tokens, a-shape 16+128: density " + density);
        assertTrue(density > 0 && density <= 0.5, run.toString());
    }

    @Test
    void benchPrintsModesSideBySide() {
        CliRun run = CliRun.of("bench", "--lengths", "48,100", "--attention", "dense,minference", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(6, lines.length, run.toString());
        assertTrue(lines[0].startsWith("model synthetic:tiny on cpu"), run.toString());
        assertTrue(lines[0].endsWith("sparse threshold 32768"), run.toString());
        assertEquals(List.of("tokens", "dense", "s", "minference", "s", "minference", "speedup", "kept"),
                List.of(lines[1].trim().split("\\s+")), run.toString());
        for (int row = 0; row < 2; row++) {
            String[] cells = lines[2 + row].trim().split("\\s+");
            assertEquals(List.of("48", "100").get(row), cells[0], run.toString());
            double dense = Double.parseDouble(cells[1]);
            assertTrue(cells[2].endsWith("*"), "below the threshold: " + run);
            double sparse = Double.parseDouble(cells[2].substring(0, cells[2].length() - 1));
            assertTrue(cells[3].endsWith("x"), run.toString());
            double speedup = Double.parseDouble(cells[3].substring(0, cells[3].length() - 1));
            // Times are printed to the millisecond, the speedup from the nanoseconds.
            double rounding = speedup * (0.0005 / dense + 0.0005 / sparse) + 0.005;
            assertEquals(dense / sparse, speedup, rounding, run.toString());
            // Below the threshold the mode ran dense: it computed the whole causal area.
            assertEquals("100.0%", cells[4], run.toString());
        }
        assertEquals("modes warmed up first; their order alternates from one length to the next", lines[4]);
        assertEquals("* below the sparse threshold of 32768 tokens: prefilled dense (--sparse-threshold 0 forces"
                + " sparse)", lines[5]);
    }

    @Test
    void benchWithThresholdZeroRunsSparse() throws IOException {
        CliRun run = CliRun.of("bench", "--lengths", "1k", "--attention", "dense,minference", "--patterns",
                narrowAShape().toString(), "--sparse-threshold", "0", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] cells = run.out().strip().split("\\R")[2].trim().split("\\s+");
        assertTrue(!cells[2].endsWith("*") && cells[3].endsWith("x"), run.toString());
        // The speedup comes with the fraction of the causal area the sparse prefill computed.
        double density = kept(cells[4]);
        System.out.println("bench, synthetic:tiny, 1024 tokens, a-shape 16+128: density " + density);
        assertTrue(density > 0 && density <= 0.5, run.toString());
    }

    @Test
    void benchOfASparseModeAloneStillSaysWhatItKept() throws IOException {
        CliRun run = CliRun.of("bench", "--lengths", "1k", "--attention", "minference", "--patterns",
                narrowAShape().toString(), "--sparse-threshold", "0", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(List.of("tokens", "minference", "s", "kept"), List.of(lines[1].trim().split("\\s+")),
                run.toString());
        double density = kept(lines[2].trim().split("\\s+")[2]);
        assertTrue(density > 0 && density <= 0.5, run.toString());
    }

    @Test
    void flagsACommandWouldIgnoreAreRefused() {
        invalid(CliRun.of("bench", "--attention", "dense,minference", "--decode-tokens", "4"),
                "Option '--decode-tokens' does not apply here: with sparse modes bench times the prefill only");
        invalid(CliRun.of("eval", "needle", "--model", "synthetic:tiny", "--sparse-threshold", "100"),
                "Option '--sparse-threshold' does not apply here: every sparse mode is compared sparse");
        invalid(CliRun.of("eval", "ppl", "--model", "synthetic:tiny", "--text", "x.txt", "--length", "64",
                "--sparse-threshold", "0"),
                "Option '--sparse-threshold' does not apply here");
        invalid(CliRun.of("eval", "recall", "--synthetic", "random", "--sparse-threshold", "0"),
                "Option '--sparse-threshold' does not apply here: recall measures each head's pattern");
    }

    @Test
    void benchAttentionFlagErrors() {
        invalid(CliRun.of("bench", "--attention", "dense,fast"), "'fast' is not an attention mode");
        invalid(CliRun.of("bench", "--attention", "dense,dense"), "dense is listed twice");
        invalid(CliRun.of("bench", "--attention", "dense,minference", "--budget", "mass:2"),
                "Invalid value for option '--budget'");
        invalid(CliRun.of("bench", "--attention", "dense,a-shape", "--budget", "mass:0.9"),
                "Invalid combination of settings: a budget applies to minference, vertical-slash and block-sparse,"
                        + " not dense");
    }

    @Test
    void aBudgetOrPatternFileInAListGoesToTheModesThatTakeIt() throws IOException {
        CliRun budget = CliRun.of("bench", "--lengths", "48", "--attention", "dense,a-shape,minference", "--budget",
                "mass:0.9", "--device", "cpu");
        assertEquals(0, budget.exitCode(), budget.toString());
        Path patterns = dir.resolve("p.yaml");
        Files.writeString(patterns, "num_layers: 4\nnum_heads: 8\ndefault: {pattern: dense}\n");
        CliRun file = CliRun.of("bench", "--lengths", "48", "--attention", "dense,minference", "--patterns",
                patterns.toString(), "--device", "cpu");
        assertEquals(0, file.exitCode(), file.toString());
        Files.writeString(patterns, "num_layers: 5\nnum_heads: 8\ndefault: {pattern: dense}\n");
        invalid(CliRun.of("bench", "--lengths", "48", "--attention", "dense,minference", "--patterns",
                patterns.toString(), "--device", "cpu"), patterns + ": the pattern configuration has 5 layers,"
                + " the model 4");
    }
}
