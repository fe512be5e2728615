package io.minference.sparse.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.HeadPattern.AShape;
import io.minference.sparse.HeadPattern.BlockSparse;
import io.minference.sparse.HeadPattern.Dense;
import io.minference.sparse.HeadPattern.VerticalSlash;
import io.minference.sparse.PatternPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PatternFilesTest {
    private static final String SAMPLE = "minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json";

    @TempDir
    Path dir;

    private static VerticalSlash vs(int vertical, int slash) {
        return new VerticalSlash(Budget.topK(vertical), Budget.topK(slash));
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private PatternFileException failure(String name, String text) throws IOException {
        Path file = write(name, text);
        PatternFileException e = assertThrows(PatternFileException.class, () -> PatternFiles.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        return e;
    }

    @Test
    void theMInferenceSampleLoadsWithItsCountsAndEntries() {
        Optional<Path> sample = SharedData.file(SAMPLE);
        assumeTrue(sample.isPresent(), "the MInference sample is absent");
        PatternPlan plan = PatternFiles.readFor(sample.get(), Set.of(), 32, 32);
        assertEquals(32, plan.numLayers());
        assertEquals(vs(1000, 6096), plan.pattern(0, 0));
        assertEquals(vs(3500, 100), plan.pattern(22, 0));
        assertEquals(vs(1000, 6096), plan.pattern(31, 31));
        Map<HeadPattern, Integer> layer22 = new HashMap<>();
        for (HeadPattern p : plan.layers().get(22)) layer22.merge(p, 1, Integer::sum);
        assertEquals(Map.of(vs(1000, 6096), 16, vs(30, 800), 7, vs(100, 800), 5, vs(3500, 100), 4), layer22);
        int all = 0;
        for (List<HeadPattern> heads : plan.layers()) all += (int) heads.stream().filter(vs(1000, 6096)::equals).count();
        assertEquals(473, all);

        PatternFileException e = assertThrows(PatternFileException.class,
                () -> PatternFiles.readFor(sample.get(), Set.of(), 32, 8));
        assertEquals(sample.get() + ": layer 0 of the pattern configuration has 32 heads, the model 8", e.getMessage());
        e = assertThrows(PatternFileException.class, () -> PatternFiles.readFor(sample.get(), Set.of(), 6, 32));
        assertEquals(sample.get() + ": the pattern configuration has 32 layers, the model 6", e.getMessage());
    }

    @Test
    void minferenceNamesMapToThePatterns() throws IOException {
        Path file = write("p.json", """
                [{"0": ["vertical_and_slash", 1000, 6096, 0.9], "1": ["stream_llm", 64, 1024, 0.5]},
                 {"1": ["block_sparse", 100, 0, 1], "0": ["vertical_and_slash", 30, 800, 12345]}]
                """);
        PatternPlan plan = PatternFiles.read(file);
        assertEquals(new PatternPlan(List.of(List.of(vs(1000, 6096), new AShape(64, 1024)),
                List.of(vs(30, 800), new BlockSparse(Budget.topK(100))))), plan);
    }

    // MInference's rules, each read in minference/modules/minference_forward.py (microsoft/MInference):
    // minference_prefill_kernel and init_minference_parameters.

    @Test
    void minferenceBlockSparseKeepsAHundredBlocksWhateverTheNumbersSay() throws IOException {
        PatternPlan plan = PatternFiles.read(write("b.json", """
                [{"0": ["block_sparse", 16, 0, 0], "1": ["block_sparse", 100, 7, 3], "2": ["block_sparse", 0, 0, 0]}]
                """));
        assertEquals(List.of(new BlockSparse(Budget.topK(100)), new BlockSparse(Budget.topK(100)),
                new BlockSparse(Budget.topK(100))), plan.layers().get(0));
    }

    @Test
    void minferenceVerticalAndSlashBudgetsAreClampedToThirtyAndFifty() throws IOException {
        PatternPlan plan = PatternFiles.read(write("v.json", """
                [{"0": ["vertical_and_slash", 10, 20, 0], "1": ["vertical_and_slash", 0, 0, 0],
                  "2": ["vertical_and_slash", 30, 50, 0], "3": ["vertical_and_slash", 31, 49, 0],
                  "4": ["stream_llm", 4, 16, 0]}]
                """));
        assertEquals(List.of(vs(30, 50), vs(30, 50), vs(30, 50), vs(31, 50), new AShape(4, 16)),
                plan.layers().get(0), "vertical_and_slash clamped to max(v, 30), max(s, 50); stream_llm untouched");
    }

    @Test
    void minferenceMissingHeadsAndLayersGetItsDefaultWithAWarningNamingThem() throws IOException {
        Path file = write("m.json", """
                [{"0": ["vertical_and_slash", 100, 800, 0], "2": ["stream_llm", 64, 256, 0]},
                 {"1": ["vertical_and_slash", 3500, 100, 0]}]
                """);
        List<String> warnings = new ArrayList<>();
        PatternPlan plan = PatternFiles.readFor(file, Set.of(), 3, 4, warnings::add);
        VerticalSlash d = VerticalSlash.DEFAULT;
        assertEquals(new PatternPlan(List.of(List.of(vs(100, 800), d, new AShape(64, 256), d),
                List.of(d, vs(3500, 100), d, d), List.of(d, d, d, d))), plan);
        assertEquals(List.of(file + ": not listed, so vertical_and_slash 1000/6096 as MInference gives them:"
                + " layer 0 heads 1, 3; layer 1 heads 0, 2-3; layer 2"), warnings);
        assertEquals(vs(1000, 6096), d);

        List<String> none = new ArrayList<>();
        PatternPlan full = PatternFiles.readFor(write("f.json", "[{\"0\": [\"stream_llm\", 1, 2, 0]}]"), Set.of(),
                1, 1, none::add);
        assertEquals(new AShape(1, 2), full.pattern(0, 0));
        assertEquals(List.of(), none, "a complete file warns of nothing");

        PatternFileException wider = assertThrows(PatternFileException.class,
                () -> PatternFiles.readFor(file, Set.of(), 3, 2, warnings::add));
        assertEquals(file + ": layer 0 of the pattern configuration has 3 heads, the model 2", wider.getMessage(),
                "a head past the model's count is still refused: the file is for another model");
    }

    @Test
    void minferenceFourthFieldIsTheSearchScoreAndChangesNothing() throws IOException {
        // fit_o files hold an output-error count there, older ones a recall; MInference's prefill unpacks it as "_".
        PatternPlan counts = PatternFiles.read(write("c.json",
                "[{\"0\": [\"vertical_and_slash\", 100, 800, 26473], \"1\": [\"stream_llm\", 8, 64, 0]}]"));
        PatternPlan recalls = PatternFiles.read(write("r.json",
                "[{\"0\": [\"vertical_and_slash\", 100, 800, 0.97], \"1\": [\"stream_llm\", 8, 64, 1.0]}]"));
        assertEquals(counts, recalls);
        assertEquals(List.of(vs(100, 800), new AShape(8, 64)), counts.layers().get(0));
    }

    @Test
    void minferenceFileErrorsNameTheLayerHeadAndProblem() throws IOException {
        assertTrue(failure("a.json", "[{\"0\": [\"dilated\", 1, 2, 0]}]").getMessage()
                .endsWith("layer 0, head 0: unknown pattern 'dilated' (MInference's names: vertical_and_slash,"
                        + " stream_llm, block_sparse)"));
        assertTrue(failure("b.json", "[{\"0\": [\"vertical_and_slash\", 1, 2, 0]}, {\"0\": [\"vertical_and_slash\","
                + " -5, 2, 0]}]").getMessage().endsWith("layer 1, head 0: vertical_size cannot be negative, got -5"));
        assertTrue(failure("c.json", "[{\"0\": [\"vertical_and_slash\", 1, 2, 0], \"5000\": [\"stream_llm\", 1, 2, 0]}]")
                .getMessage().endsWith("layer 0, head 5000: is out of range: head indices run from 0 to 4095"));
        assertTrue(failure("d.json", "[{\"0\": [\"vertical_and_slash\", 1, 2, 0]")
                .getMessage().contains(": malformed JSON: "));
        assertTrue(failure("e.json", "{\"layers\": 3}").getMessage()
                .endsWith("an MInference pattern file is a JSON list with one object per layer, got object"));
        assertTrue(failure("f.json", "[{\"0\": [\"stream_llm\", 1.5, 2, 0]}]").getMessage()
                .endsWith("layer 0, head 0: vertical_size must be a whole number, got 1.5"));
        assertTrue(failure("g.json", "[{\"x\": [\"stream_llm\", 1, 2, 0]}]").getMessage()
                .endsWith("layer 0: head key 'x' is not a head index"));
        assertTrue(failure("h.json", "[{\"0\": \"vertical_and_slash\"}]").getMessage()
                .endsWith("layer 0, head 0: must be [pattern, vertical_size, slash_size, score], got \"vertical_and_slash\""));
    }

    @Test
    void yamlRoundTripsEveryPatternAndBudget() throws IOException {
        PatternPlan plan = new PatternPlan(List.of(
                List.of(vs(1000, 6096), vs(1000, 6096), new AShape(0, 1), new Dense()),
                List.of(new VerticalSlash(Budget.mass(0.95), Budget.topK(10)), vs(1000, 6096),
                        new BlockSparse(Budget.mass(0.5)), new BlockSparse(Budget.topK(7)))));
        Path file = dir.resolve("out.yaml");
        PatternFiles.write(file, plan, "written by a test\nsecond line");
        String text = Files.readString(file);
        assertTrue(text.startsWith("# written by a test\n# second line\nnum_layers: 2\nnum_heads: 4\n"
                + "default: {pattern: vertical-slash, vertical: 1000, slash: 6096}\nlayers:\n  0:\n"
                + "    2: {pattern: a-shape, sink: 0, local: 1}\n    3: {pattern: dense}\n"), text);
        assertTrue(text.contains("    0: {pattern: vertical-slash, vertical: 'mass:0.95', slash: 10}\n"), text);
        assertEquals(plan, PatternFiles.read(file));
    }

    @Test
    void theSampleConvertsToYamlAndBack() throws IOException {
        Optional<Path> sample = SharedData.file(SAMPLE);
        assumeTrue(sample.isPresent(), "the MInference sample is absent");
        PatternPlan plan = PatternFiles.read(sample.get());
        Path yaml = dir.resolve("llama3.yaml");
        PatternFiles.write(yaml, plan, null);
        assertEquals(plan, PatternFiles.read(yaml));
    }

    @Test
    void theExampleFileLoads() {
        Path example = Path.of(System.getProperty("minference.projectRoot", "..")).resolve("examples/patterns.yaml");
        PatternPlan plan = PatternFiles.readFor(example, Set.of(), 6, 6);
        assertEquals(VerticalSlash.DEFAULT, plan.pattern(0, 0));
        assertEquals(new AShape(64, 512), plan.pattern(0, 1));
        assertEquals(new VerticalSlash(Budget.mass(0.9), Budget.mass(0.9)), plan.pattern(5, 2));
        assertEquals(new BlockSparse(Budget.topK(8)), plan.pattern(5, 3));
        // the patterns search-patterns found for the tiny pass-key model (BENCHMARKS.md, issue 12)
        Path searched = example.resolveSibling("tiny-passkey-searched.yaml");
        assertEquals(6, PatternFiles.readFor(searched, Set.of(), 6, 6).numLayers());
    }

    @Test
    void headsNotListedTakeTheDefault() throws IOException {
        PatternPlan plan = PatternFiles.read(write("p.yaml", """
                num_layers: 2
                num_heads: 3
                default: {pattern: a-shape, sink: 4, local: 64}
                layers:
                  1:
                    2: {pattern: dense}
                """));
        assertEquals(new PatternPlan(List.of(List.of(new AShape(4, 64), new AShape(4, 64), new AShape(4, 64)),
                List.of(new AShape(4, 64), new AShape(4, 64), new Dense()))), plan);
    }

    @Test
    void yamlErrorsNameTheLayerHeadAndProblem() throws IOException {
        String head = "num_layers: 2\nnum_heads: 2\ndefault: {pattern: dense}\nlayers:\n  1:\n    0: ";
        assertTrue(failure("a.yaml", head + "{pattern: dilated}\n").getMessage()
                .endsWith("layer 1, head 0: unknown pattern 'dilated' (known: dense, a-shape, vertical-slash,"
                        + " block-sparse)"));
        assertTrue(failure("b.yaml", head + "{pattern: vertical-slash, vertical: -3, slash: 10}\n").getMessage()
                .endsWith("layer 1, head 0: vertical: a budget cannot be negative, got -3"));
        assertTrue(failure("c.yaml", head + "{pattern: a-shape, sink: -1, local: 10}\n").getMessage()
                .endsWith("layer 1, head 0: sink must be at least 0, got -1"));
        assertTrue(failure("d.yaml", head + "{pattern: block-sparse, blocks: 'mass:1.5'}\n").getMessage()
                .endsWith("layer 1, head 0: blocks: the mass fraction of 'mass:1.5' must lie in (0, 1]"));
        assertTrue(failure("e.yaml", head + "{pattern: vertical-slash, vertical: 1}\n").getMessage()
                .endsWith("layer 1, head 0: has no 'slash' budget"));
        assertTrue(failure("f.yaml", head + "{pattern: dense, window: 3}\n").getMessage()
                .endsWith("layer 1, head 0: unknown parameter window for pattern dense"));
        assertTrue(failure("g.yaml", "num_layers: 2\nnum_heads: 2\nlayers:\n  1:\n    3: {pattern: dense}\n")
                .getMessage().endsWith("layer 1: heads: head 3 is out of range: the file declares 2 heads (0 to 1)"));
        assertTrue(failure("h.yaml", "num_layers: 2\nnum_heads: 2\nlayers:\n  1:\n    0: {pattern: dense}\n")
                .getMessage().endsWith("layer 0, head 0: has no pattern, and the file has no default"));
        assertTrue(failure("i.yaml", "num_layers: 2\nnum_heads: [2\n").getMessage().contains("malformed YAML"));
        assertTrue(failure("j.yaml", "num_layers: 2\nnum_heads: 2\ndefualt: {pattern: dense}\n").getMessage()
                .endsWith("unknown key 'defualt' (known: num_layers, num_heads, default, layers)"));
        assertTrue(failure("k.yaml", "num_heads: 2\ndefault: {pattern: dense}\n").getMessage()
                .endsWith("has no num_layers (the model's count, which the file must match)"));
        assertTrue(failure("l.yaml", "num_layers: 0\nnum_heads: 2\n").getMessage()
                .endsWith("num_layers must be a whole number of at least 1, got 0"));
        assertTrue(failure("m.yaml", "num_layers: 1\nnum_heads: 1\ndefault: {pattern: a-shape, sink: 1, local: 0}\n")
                .getMessage().endsWith("default: local must be at least 1, got 0"));
        PatternFileException missing = assertThrows(PatternFileException.class,
                () -> PatternFiles.read(dir.resolve("none.yaml")));
        assertEquals(dir.resolve("none.yaml") + ": pattern file not found", missing.getMessage());
    }

    @Test
    void customPatternsAreAcceptedOnlyWhenNamed() throws IOException {
        Path file = write("c.yaml", "num_layers: 1\nnum_heads: 1\ndefault: {pattern: local-only, window: 256}\n");
        assertTrue(assertThrows(PatternFileException.class, () -> PatternFiles.read(file)).getMessage()
                .endsWith("default: unknown pattern 'local-only' (known: dense, a-shape, vertical-slash, block-sparse)"));
        PatternPlan plan = PatternFiles.read(file, Set.of("local-only"));
        assertEquals(new HeadPattern.Custom("local-only", Map.of("window", "256")), plan.pattern(0, 0));
        assertEquals(plan, PatternFiles.read(write("c2.yaml", PatternFiles.toYaml(plan, null)), Set.of("local-only")));
    }

    @Test
    void theFormatFollowsTheExtensionOrTheContent() throws IOException {
        Path json = write("patterns.txt", "  [{\"0\": [\"stream_llm\", 1, 2, 0]}]");
        assertEquals(PatternFiles.Format.MINFERENCE_JSON, PatternFiles.detect(json, Files.readString(json)));
        assertEquals(new AShape(1, 2), PatternFiles.read(json).pattern(0, 0));
        Path yaml = write("patterns", "num_layers: 1\nnum_heads: 1\ndefault: {pattern: dense}\n");
        assertEquals(PatternFiles.Format.YAML, PatternFiles.detect(yaml, Files.readString(yaml)));
        assertEquals(new Dense(), PatternFiles.read(yaml).pattern(0, 0));
    }

    @Test
    void budgetText() {
        assertEquals(Budget.topK(1000), BudgetText.parse("1000"));
        assertEquals(Budget.mass(0.9), BudgetText.parse("mass:0.9"));
        assertEquals(Budget.mass(1.0), BudgetText.parse("MASS:1"));
        for (String bad : new String[] {"-1", "mass:0", "mass:1.2", "mass:x", "lots", "", "99999999999"}) {
            assertTrue(BudgetText.problem(bad).isPresent(), bad);
        }
        assertEquals("'lots' is not a budget: write a whole number (top-k) or mass:γ with γ in (0, 1]",
                BudgetText.problem("lots").orElseThrow());
    }

    @Test
    void hugeCountsAreRefusedBeforeAnythingIsAllocated() {
        // Preemptive: before the bound, the first of these ran for minutes and the second ran out of memory.
        assertTimeoutPreemptively(Duration.ofSeconds(10), this::refusesHugeCounts);
    }

    private void refusesHugeCounts() throws IOException {
        String pattern = "default: {pattern: a-shape, sink: 4, local: 64}\n";
        assertTrue(failure("l.yaml", "num_layers: 2147483647\nnum_heads: 2\n" + pattern).getMessage()
                .contains("num_layers is 2147483647; a pattern file may declare at most 1024"));
        assertTrue(failure("h.yaml", "num_layers: 2\nnum_heads: 0x7fffffff\n" + pattern).getMessage()
                .contains("num_heads is 2147483647; a pattern file may declare at most 1024"));
        assertTrue(failure("b.yaml", "num_layers: 99999999999999999999\nnum_heads: 2\n" + pattern).getMessage()
                .contains("num_layers must be a whole number"));
    }

    @Test
    void aliasesAndNonFiniteNumbersAreRefused() throws IOException {
        assertTrue(failure("a.yaml", "num_layers: 1\nnum_heads: 1\ndefault: &x {pattern: [*x]}\n").getMessage()
                .contains("aliases (*x) are not allowed"));
        PatternFileException nan = failure("n.yaml", "num_layers: 1\nnum_heads: 1\n"
                + "default: {pattern: vertical-slash, vertical: !!float nan, slash: 10}\n");
        assertTrue(nan.getMessage().contains("key 'default.vertical': must be a finite number"), nan.getMessage());
    }

    @Test
    void minferenceSizesOfTwoToTheSixtyFourAreTooLargeNotWrapped() throws IOException {
        PatternFileException e = failure("w.json", "[{\"0\": [\"vertical_and_slash\", 18446744073709551617, 10,"
                + " 0.9]}]");
        assertTrue(e.getMessage().contains("vertical_size is too large: 18446744073709551617"), e.getMessage());
        assertTrue(failure("d.json", "[{\"0\": [\"vertical_and_slash\", 1e30, 10, 0.9]}]").getMessage()
                .contains("too large"));
    }
}
