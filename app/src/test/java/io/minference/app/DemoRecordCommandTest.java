package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** demo-record on synthetic:tiny: the page's responses saved as JSON, and a summary row per length. */
class DemoRecordCommandTest {
    @TempDir
    Path dir;

    @Test
    void savesThePagesResponsesAndASummaryWithSpeedupAndDensity() throws Exception {
        Path out = dir.resolve("demo");
        CliRun run = CliRun.of("demo-record", "--model", "synthetic:tiny", "--device", "cpu", "--lengths", "256,512",
                "--max-tokens", "3", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        ObjectMapper json = new ObjectMapper();
        for (String name : new String[] {"info.json", "warm-up-dense.json", "warm-up-minference.json",
                "256-haystack.json", "256-dense.json", "256-minference.json", "256-pattern.json",
                "512-dense.json", "512-minference.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(name)), name + " saved: " + run);
        }
        JsonNode sparse = json.readTree(out.resolve("512-minference.json").toFile());
        assertEquals("minference", sparse.path("minference").path("attention").asText());
        double density = sparse.path("minference").path("index_density").asDouble();
        assertTrue(density > 0 && density <= 1, sparse.toString());
        assertTrue(sparse.path("progress_events").asInt() > 0, "the page's progress events were read");
        assertEquals(1.0, json.readTree(out.resolve("512-dense.json").toFile()).path("minference")
                .path("index_density").asDouble());
        String summary = Files.readString(out.resolve("summary.md"));
        String[] lines = summary.strip().split("\\R");
        assertTrue(lines[0].contains("warmed up once, then the order alternates"), summary);
        // The recording names the patterns MInference followed, as its responses do.
        assertTrue(lines[0].contains("MInference patterns: every head vertical-slash 1000/6096"), summary);
        assertEquals("every head vertical-slash 1000/6096", sparse.path("minference").path("patterns").asText());
        assertTrue(json.readTree(out.resolve("512-dense.json").toFile()).path("minference").path("patterns")
                .isNull());
        // One row per length: the second ran MInference first.
        assertTrue(lines[4].startsWith("| 256 | dense |"), summary);
        assertTrue(lines[5].startsWith("| 512 | minference |"), summary);
        assertTrue(lines[5].matches("\\| 512 \\| minference \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+x \\| [0-9.]+% \\|.*"),
                summary);
        // On the CPU no energy is measured: one line says so, no table of zeros.
        assertEquals("energy: not measured (NVML: the session runs on the cpu)", lines[lines.length - 1], summary);
        assertFalse(summary.contains(" J "), summary);
        JsonNode figures = sparse.path("minference");
        assertTrue(figures.get("prefill_joules").isNull(), figures.toString());
    }

    @Test
    void measuredEnergyBecomesATablePerLengthAndMode() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode dense = json.readTree("{\"minference\": {\"prefill_joules\": 812.34, \"prefill_mean_watts\": 690.2,"
                + " \"decode_joules_per_token\": 2.414, \"decode_mean_watts\": 402}}");
        JsonNode sparse = json.readTree("{\"minference\": {\"prefill_joules\": 301.0, \"prefill_mean_watts\": 655,"
                + " \"decode_joules_per_token\": null, \"decode_mean_watts\": null}}");
        String section = DemoRecordCommand.energySection(List.of(new DemoRecordCommand.Runs(131072, dense, sparse)));
        String[] lines = section.strip().split("\\R");
        assertTrue(lines[0].startsWith("GPU energy"), section);
        assertEquals("| 131072 | 812.3 J (690 W) | 301.0 J (655 W) | 2.41 J/token (402 W) | n/a |",
                lines[lines.length - 1], section);
        JsonNode absent = json.readTree("{\"minference\": {\"prefill_joules\": null,"
                + " \"energy_unavailable\": \"energy: not measured (NVML: no driver)\"}}");
        assertEquals("energy: not measured (NVML: no driver)\n",
                DemoRecordCommand.energySection(List.of(new DemoRecordCommand.Runs(64, dense, absent))));
    }

    @Test
    void followsAPatternFileAndSaysSo() throws Exception {
        Path patterns = dir.resolve("tiny-a-shape.yaml");
        Files.writeString(patterns, "num_layers: 4\nnum_heads: 8\ndefault: {pattern: a-shape, sink: 64, local: 128}\n");
        Path out = dir.resolve("demo");
        CliRun run = CliRun.of("demo-record", "--model", "synthetic:tiny", "--device", "cpu", "--lengths", "2k",
                "--max-tokens", "1", "--pattern-max-tokens", "2", "--patterns", patterns.toString(),
                "--out", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        JsonNode sparse = new ObjectMapper().readTree(out.resolve("2048-minference.json").toFile());
        assertEquals(patterns.toString(), sparse.path("minference").path("patterns").asText());
        // sink 64 + local 128 of 2048 keys: well under half of the causal area (at 512 tokens every head would
        // compute over 0.66 of its key tiles and fall back to dense)
        assertTrue(sparse.path("minference").path("index_density").asDouble() < 0.5, sparse.toString());
        assertTrue(Files.readString(out.resolve("summary.md")).contains("MInference patterns: " + patterns),
                run.toString());
    }

    @Test
    void aMissingPatternFileIsAClearError() {
        Path missing = dir.resolve("none.yaml");
        CliRun run = CliRun.of("demo-record", "--model", "synthetic:tiny", "--device", "cpu", "--lengths", "512",
                "--patterns", missing.toString(), "--out", dir.resolve("demo").toString());
        assertTrue(run.exitCode() != 0, run.toString());
        assertTrue(run.err().contains(missing + ": pattern file not found"), run.toString());
    }
}
