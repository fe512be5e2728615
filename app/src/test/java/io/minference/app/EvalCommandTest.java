package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval needle / ppl / recall and search-patterns, on the tiny pass-key model (6 layers, 6 heads, 16K context). */
class EvalCommandTest {
    @TempDir
    Path dir;

    private static String shared(String relative) {
        Optional<Path> file = SharedData.file(relative);
        assumeTrue(file.isPresent(), "shared data " + relative + " is absent");
        return file.get().toString();
    }

    private static String model() {
        return shared("models/tiny-passkey-llama-f16.gguf");
    }

    @Test
    void needleRetrievesTheKeyWithDenseAttentionAt1k() {
        CliRun run = CliRun.of("eval", "needle", "--model", model(), "--lengths", "1k", "--depths", "50",
                "--trials", "2", "--attention", "dense", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(6, lines.length, run.toString());
        assertTrue(lines[0].contains("haystack " + shared("text/moby-dick.txt")), run.toString());
        assertTrue(lines[0].contains("2 trials per row"), run.toString());
        assertTrue(lines[0].endsWith("scoring prefill and generate"), run.toString());
        assertEquals(List.of("length", "depth", "dense:prefill", "dense:generate"),
                List.of(lines[1].trim().split("\\s+")));
        assertEquals(List.of("1024", "50%", "2/2", "2/2"), List.of(lines[2].trim().split("\\s+")), run.toString());
        assertEquals(List.of("length", "attention", "density", "key", "loglik"), List.of(lines[4].trim().split("\\s+")));
        String[] density = lines[5].trim().split("\\s+");
        assertEquals(List.of("1024", "dense", "1.0000"), List.of(density).subList(0, 3), run.toString());
        assertTrue(Double.parseDouble(density[3]) > -0.5, "the trained model is sure of the key: " + run);
    }

    /**
     * Sparse attention at a density of at most 0.5, scored both ways: vertical-slash with 100 columns and 100
     * diagonals at 2K keeps the key (the columns hold the needle), 30 columns lose it inside the prefill.
     */
    @Test
    void needleWithSparseAttentionAtLowDensity() throws IOException {
        Path patterns = dir.resolve("vs.yaml");
        String[] common = {"eval", "needle", "--model", model(), "--lengths", "2k", "--depths", "10", "--trials",
                "2", "--attention", "dense,minference", "--device", "cpu", "--patterns", patterns.toString()};
        Files.writeString(patterns, "num_layers: 6\nnum_heads: 6\ndefault: {pattern: vertical-slash, vertical: 100,"
                + " slash: 100}\n");
        CliRun keeps = CliRun.of(common);
        assertEquals(0, keeps.exitCode(), keeps.toString());
        String[] lines = keeps.out().strip().split("\\R");
        assertEquals(List.of("2048", "10%", "2/2", "2/2", "2/2", "2/2"), List.of(lines[2].trim().split("\\s+")),
                keeps.toString());
        double density = density(lines[6], "minference");
        System.out.println("needle at 2K, vertical-slash 100/100: density " + density);
        assertTrue(density > 0 && density <= 0.5, keeps.toString());

        Files.writeString(patterns, "num_layers: 6\nnum_heads: 6\ndefault: {pattern: vertical-slash, vertical: 30,"
                + " slash: 100}\n");
        CliRun loses = CliRun.of(concat(common, "--score", "prefill"));
        assertEquals(0, loses.exitCode(), loses.toString());
        lines = loses.out().strip().split("\\R");
        assertEquals(List.of("2048", "10%", "2/2", "0/2"), List.of(lines[2].trim().split("\\s+")), loses.toString());
        density = density(lines[6], "minference");
        System.out.println("needle at 2K, vertical-slash 30/100: density " + density);
        assertTrue(density <= 0.5, loses.toString());
        CliRun badScore = CliRun.of("eval", "needle", "--model", "m.gguf", "--score", "decode");
        assertEquals(2, badScore.exitCode(), badScore.toString());
        assertTrue(badScore.err().contains("'decode' is not a scoring: use prefill, generate or both"),
                badScore.toString());
    }

    /** The density cell of a row of needle's density table, checking the row's mode. */
    private static double density(String row, String mode) {
        String[] cells = row.trim().split("\\s+");
        assertEquals(mode, cells[1], row);
        return Double.parseDouble(cells[2]);
    }

    @Test
    void needleRefusesWhatCannotRun() throws IOException {
        CliRun tooLong = CliRun.of("eval", "needle", "--model", model(), "--lengths", "1k,17k", "--trials", "1",
                "--device", "cpu");
        assertEquals(1, tooLong.exitCode(), tooLong.toString());
        assertEquals("minference: length 17408 is above the model's context of 16384 tokens",
                tooLong.errLines()[tooLong.errLines().length - 1]);
        Path shortHay = dir.resolve("hay.txt");
        Files.writeString(shortHay, "Too short a haystack.");
        CliRun hay = CliRun.of("eval", "needle", "--model", model(), "--lengths", "1k", "--trials", "1",
                "--attention", "dense", "--haystack", shortHay.toString(), "--device", "cpu");
        assertEquals(1, hay.exitCode(), hay.toString());
        assertTrue(hay.err().contains("too short for a prompt of 1024 tokens"), hay.toString());
    }

    @Test
    void evalFlagErrorsAreInvalidInput() {
        CliRun depth = CliRun.of("eval", "needle", "--model", "m.gguf", "--depths", "10,120");
        assertEquals(2, depth.exitCode(), depth.toString());
        assertTrue(depth.err().contains("'120' is not a depth: use a whole percentage from 0 to 100"), depth.toString());
        CliRun trials = CliRun.of("eval", "needle", "--model", "m.gguf", "--trials", "0");
        assertEquals(2, trials.exitCode(), trials.toString());
        assertTrue(trials.err().contains("'--trials': must be 1 or more, got 0"), trials.toString());
        CliRun none = CliRun.of("eval");
        assertEquals(2, none.exitCode(), none.toString());
        assertTrue(none.err().contains("Missing required subcommand: needle, ppl or recall"), none.toString());
        CliRun ppl = CliRun.of("eval", "ppl", "--model", "m.gguf", "--text", "t.txt");
        assertEquals(2, ppl.exitCode(), ppl.toString());
        assertTrue(ppl.err().contains("Missing required option: '--length=N'"), ppl.toString());
        CliRun recall = CliRun.of("eval", "recall", "--model", "m.gguf", "--text", "t.txt", "--attention", "dense");
        assertEquals(2, recall.exitCode(), recall.toString());
        assertTrue(recall.err().contains("recall measures a sparse mode, not dense"), recall.toString());
        CliRun search = CliRun.of("search-patterns", "--model", "m.gguf", "--out", "p.yaml");
        assertEquals(2, search.exitCode(), search.toString());
        assertTrue(search.err().contains("Missing required option: '--calibration=FILE'"), search.toString());
    }

    @Test
    void perplexityAfterADensePrefill() {
        CliRun run = CliRun.of("eval", "ppl", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--length", "256", "--tokens", "16", "--score", "continuation", "--attention", "dense", "--device",
                "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(3, lines.length, run.toString());
        String[] cells = lines[2].trim().split("\\s+");
        assertEquals("dense", cells[0]);
        double ppl = Double.parseDouble(cells[1]);
        assertTrue(ppl > 1 && ppl < 1000, "a trained model on its training text: " + run);
        CliRun tooLong = CliRun.of("eval", "ppl", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--length", "16k", "--tokens", "2", "--score", "continuation", "--device", "cpu");
        assertEquals(1, tooLong.exitCode(), tooLong.toString());
        assertTrue(tooLong.err().contains("length 16384 plus 2 scored tokens does not fit the model's context of"
                + " 16384 tokens"), tooLong.toString());
    }

    /**
     * Perplexity over the prefill at 2K: every position after --skip scored inside one prefill per mode. A sparse
     * mode at density <= 0.5 loses context, so its perplexity is higher than dense's; A-shape 16 + 64 far more so.
     */
    @Test
    void perplexityOverThePrefillSeesTheSparseAttention() throws IOException {
        Path patterns = dir.resolve("narrow.yaml");
        Files.writeString(patterns, "num_layers: 6\nnum_heads: 6\ndefault: {pattern: a-shape, sink: 16, local: 64}\n");
        CliRun run = CliRun.of("eval", "ppl", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--length", "2k", "--skip", "1024", "--attention", "dense,minference", "--patterns", patterns.toString(),
                "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertTrue(lines[0].contains("2048 tokens in one prefill, the 1024 positions from 1024 scored"), run.toString());
        assertEquals(List.of("attention", "perplexity", "prefill", "s", "kept"), List.of(lines[1].trim().split("\\s+")));
        String[] dense = lines[2].trim().split("\\s+"), sparse = lines[3].trim().split("\\s+");
        assertEquals(List.of("dense", "minference"), List.of(dense[0], sparse[0]), run.toString());
        assertEquals("100.0%", dense[3], run.toString());
        double kept = Double.parseDouble(sparse[3].replace("%", "")) / 100;
        System.out.println("ppl over the prefill at 2K, a-shape 16+64: density " + kept);
        assertTrue(kept > 0 && kept <= 0.5, run.toString());
        double densePpl = Double.parseDouble(dense[1]), sparsePpl = Double.parseDouble(sparse[1]);
        assertTrue(densePpl > 1 && densePpl < 1000, run.toString());
        assertTrue(sparsePpl > densePpl * 1.05, "a 64-token window loses context: " + run);

        CliRun skipAll = CliRun.of("eval", "ppl", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--length", "256", "--skip", "256", "--attention", "dense", "--device", "cpu");
        assertEquals(1, skipAll.exitCode(), skipAll.toString());
        assertTrue(skipAll.err().contains("--skip 256 leaves no position of the 256 tokens to score"),
                skipAll.toString());
        CliRun badScore = CliRun.of("eval", "ppl", "--model", "m.gguf", "--text", "t.txt", "--length", "1k",
                "--score", "decode");
        assertEquals(2, badScore.exitCode(), badScore.toString());
        assertTrue(badScore.err().contains("'decode' is not a scoring: use prefill or continuation"),
                badScore.toString());
    }

    @Test
    void recallPrintsEveryHeadOfTheLayer() {
        CliRun run = CliRun.of("eval", "recall", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--length", "512", "--layer", "3", "--budget", "mass:0.9");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(2 + 6, lines.length, run.toString());
        for (int h = 0; h < 6; h++) {
            String[] cells = lines[2 + h].trim().split("\\s+");
            assertEquals("3", cells[0]);
            assertEquals(Integer.toString(h), cells[1]);
            double recall = Double.parseDouble(cells[cells.length - 2]);
            assertTrue(recall > 0 && recall <= 1 + 1e-9, run.toString());
        }
        CliRun badLayer = CliRun.of("eval", "recall", "--model", model(), "--text", shared("text/moby-dick.txt"),
                "--layer", "6");
        assertEquals(1, badLayer.exitCode(), badLayer.toString());
        assertTrue(badLayer.err().contains("layer 6 does not exist: the model has 6 layers (0 to 5)"),
                badLayer.toString());
    }

    private static double meanRecall(CliRun run) {
        String last = run.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.startsWith("mean recall "), run.toString());
        return Double.parseDouble(last.substring("mean recall ".length()));
    }

    @Test
    void recallOnSyntheticAttentionSeesTheStructure() throws IOException {
        Path patterns = dir.resolve("vs.yaml");
        Files.writeString(patterns, "num_layers: 1\nnum_heads: 4\ndefault: {pattern: vertical-slash, vertical: 64,"
                + " slash: 64}\n");
        String[] common = {"eval", "recall", "--heads", "4", "--kv-heads", "2", "--head-dim", "64", "--length", "1k",
                "--patterns", patterns.toString(), "--synthetic"};
        CliRun structured = CliRun.of(concat(common, "structured"));
        assertEquals(0, structured.exitCode(), structured.toString());
        assertEquals(2 + 4 + 1, structured.out().strip().split("\\R").length, structured.toString());
        CliRun random = CliRun.of(concat(common, "random"));
        assertEquals(0, random.exitCode(), random.toString());
        double planted = meanRecall(structured);
        double none = meanRecall(random);
        assertTrue(planted > 0.7 && none < planted - 0.3, "structured " + planted + ", random " + none);

        CliRun badKind = CliRun.of(concat(common, "noise"));
        assertEquals(2, badKind.exitCode(), badKind.toString());
        assertTrue(badKind.err().contains("'noise' is not a kind of synthetic attention: use structured or random"),
                badKind.toString());
        CliRun badShape = CliRun.of("eval", "recall", "--synthetic", "random", "--heads", "6", "--kv-heads", "4");
        assertEquals(2, badShape.exitCode(), badShape.toString());
        assertTrue(badShape.err().contains("Invalid synthetic shape: invalid attention shape: 6 heads, 4 KV heads"),
                badShape.toString());
        CliRun wrongHeads = CliRun.of("eval", "recall", "--synthetic", "random", "--heads", "8", "--kv-heads", "2",
                "--head-dim", "64", "--length", "128", "--patterns", patterns.toString());
        assertEquals(1, wrongHeads.exitCode(), wrongHeads.toString());
        assertTrue(wrongHeads.err().contains(patterns + ": layer 0 has 4 heads, the synthetic shape 8 (--heads)"),
                wrongHeads.toString());
    }

    private static String[] concat(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    @Test
    void searchPatternsRefusesTooShortACalibrationOrTooLongALength() throws IOException {
        Path text = dir.resolve("calibration.txt");
        Files.writeString(text, "Call me Ishmael.");
        CliRun shortText = CliRun.of("search-patterns", "--model", model(), "--calibration", text.toString(), "--out",
                dir.resolve("p.yaml").toString(), "--length", "512");
        assertEquals(1, shortText.exitCode(), shortText.toString());
        assertTrue(shortText.err().matches("(?s).*minference: calibration text " + Pattern.quote(
                text.toString()) + " holds \\d+ tokens, fewer than the 511 needed \\(BOS makes 512\\).*"),
                shortText.toString());
        CliRun tooLong = CliRun.of("search-patterns", "--model", model(), "--calibration", text.toString(), "--out",
                dir.resolve("p.yaml").toString(), "--length", "32k");
        assertEquals(1, tooLong.exitCode(), tooLong.toString());
        assertTrue(tooLong.err().contains("length 32768 does not fit the model's context of 16384 tokens"),
                tooLong.toString());
        assertTrue(!Files.exists(dir.resolve("p.yaml")), "nothing written on failure");
    }

    @Test
    void searchPatternsWritesAFileThatFitsTheModel() {
        Path out = dir.resolve("found.yaml");
        CliRun run = CliRun.of("search-patterns", "--model", model(), "--calibration",
                shared("text/moby-dick.txt"), "--out", out.toString(), "--length", "512");
        assertEquals(0, run.exitCode(), run.toString());
        PatternPlan plan = PatternFiles.readFor(out, Set.of(), 6, 6);
        assertEquals(6, plan.numLayers());
        assertTrue(run.out().startsWith("wrote " + out + ": 6 layers x 6 heads from 512 calibration tokens"),
                run.toString());
        checkCosts(run, "equal-cost");

        Path minference = dir.resolve("minference.yaml");
        CliRun errors = CliRun.of("search-patterns", "--model", model(), "--calibration", shared("text/moby-dick.txt"),
                "--out", minference.toString(), "--length", "512", "--candidates", "minference", "--criterion",
                "output-error", "--tile-budget", "0.9");
        assertEquals(0, errors.exitCode(), errors.toString());
        checkCosts(errors, "minference");
        CliRun bad = CliRun.of("search-patterns", "--model", model(), "--calibration", "c.txt", "--out", "p.yaml",
                "--criterion", "speed");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("'speed' is not a criterion: use recall or output-error"), bad.toString());
    }

    /** Every head's row gives the tiles its chosen index costs at 512 tokens (8 query blocks: 36 dense tiles). */
    private static void checkCosts(CliRun run, String candidates) {
        String[] lines = run.out().strip().split("\\R");
        assertTrue(lines[1].startsWith("candidates " + candidates), run.toString());
        assertTrue(lines[1].contains("(36 tiles a head)"), run.toString());
        assertEquals(List.of("layer", "head", "pattern", "tiles", "share", "density", "recall", "out", "errors"),
                List.of(lines[2].trim().split("\\s+")), run.toString());
        long total = 0;
        for (int row = 0; row < 36; row++) {
            String[] cells = lines[3 + row].trim().split("\\s+");
            assertEquals(Integer.toString(row / 6), cells[0], run.toString());
            long tiles = Long.parseLong(cells[cells.length - 5]);
            assertTrue(tiles >= 8 && tiles <= 36, "from the diagonal tiles up to dense: " + run);
            assertEquals(tiles / 36.0, Double.parseDouble(cells[cells.length - 4]), 0.0005, run.toString());
            total += tiles;
        }
        assertTrue(lines[3 + 36].startsWith("chosen patterns on the calibration text: " + total + " tiles, "),
                run.toString());
    }
}
