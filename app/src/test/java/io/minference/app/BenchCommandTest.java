package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.gpu.DecodeBreakdown;
import io.minference.llama.gpu.DecodeKind;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class BenchCommandTest {

    @Test
    void lengthsTakeAKSuffix() {
        assertEquals(List.of(4096, 32768, 1000), new TokenLengths().convert("4k,32K, 1000"));
        for (String bad : new String[] {"4x", "", "k", "-3", "1", "3000000k"}) {
            assertThrows(TypeConversionException.class, () -> TokenLengths.parseOne(bad), bad);
        }
    }

    @Test
    void theDecodeBreakdownGivesEachKindBesideItsFloorLargestFirst() {
        Map<DecodeKind, Double> millis = new EnumMap<>(DecodeKind.class);
        Map<DecodeKind, Long> bytes = new EnumMap<>(DecodeKind.class);
        for (DecodeKind kind : DecodeKind.values()) {
            millis.put(kind, 0.01);
            bytes.put(kind, 0L);
        }
        millis.put(DecodeKind.ATTENTION, 30.0);
        millis.put(DecodeKind.GATE_UP_GEMV, 8.0);
        bytes.put(DecodeKind.ATTENTION, 48_000_000_000L);
        bytes.put(DecodeKind.GATE_UP_GEMV, 4_800_000_000L);
        String line = BenchCommand.decodeDetails(new DecodeBreakdown(7, millis, bytes),
                new BenchCommand.Decode(10, 500_000_000L, Double.NaN, "n/a", 7));
        double total = millis.values().stream().mapToDouble(Double::doubleValue).sum(); // 38 ms and 0.01 per other kind
        assertTrue(line.contains(String.format(Locale.ROOT, "%.2f ms of device time; the timed steps took 50.00"
                + " ms/token", total)), line);
        assertTrue(line.contains(": split-K attention 30.000 ms (floor 10.000 ms, 48.00 GB), gate/up GEMV 8.000 ms"
                + " (floor 1.000 ms, 4.80 GB), "), line);
        assertTrue(line.contains("SwiGLU 0.010 ms,"), line);
        assertTrue(line.endsWith("floor of the step 11.00 ms at 4.8 TB/s"), line);
    }

    @Test
    void benchmarksEachLengthOnTheDefaultSyntheticModel() {
        CliRun run = CliRun.of("bench", "--lengths", "48,130", "--decode-tokens", "3", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.toString());
        String[] lines = run.out().strip().split("\\R");
        assertEquals(4, lines.length, run.toString());
        assertTrue(lines[0].startsWith("model synthetic:tiny on cpu"), run.toString());
        assertTrue(lines[1].contains("prefill tok/s"), run.toString());
        for (int row = 0; row < 2; row++) {
            String[] cells = lines[2 + row].trim().split("\\s+");
            assertEquals(List.of("48", "130").get(row), cells[0], run.toString());
            assertTrue(Double.parseDouble(cells[1]) > 0, run.toString());
            assertTrue(Double.parseDouble(cells[2]) > 0, run.toString());
            assertTrue(Double.parseDouble(cells[3]) > 0, run.toString());
        }
    }

    @Test
    void aLengthBeyondTheContextIsRefusedBeforeRunning() {
        CliRun run = CliRun.of("bench", "--lengths", "64,32k", "--device", "cpu");
        assertEquals(1, run.exitCode(), run.toString());
        assertEquals("minference: length 32768 plus 16 decode tokens does not fit the model's context of 32768"
                + " tokens", run.errLines()[run.errLines().length - 1]);
        assertTrue(!run.out().contains("\n        64 "), "nothing runs before the check: " + run);
    }

    @Test
    void badFlagsAreInvalidInput() {
        CliRun lengths = CliRun.of("bench", "--lengths", "4q");
        assertEquals(2, lengths.exitCode(), lengths.toString());
        assertTrue(lengths.err().contains("'4q' is not a length"), lengths.toString());
        CliRun decode = CliRun.of("bench", "--decode-tokens", "-1");
        assertEquals(2, decode.exitCode(), decode.toString());
        assertTrue(decode.err().contains("--decode-tokens': must be 0 or more"), decode.toString());
    }

    @Test
    void theKvCacheIsAFlagWithThreeValues() {
        CliRun bad = CliRun.of("bench", "--kv-cache", "int4");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("'int4' is not a KV cache type; choose one of bf16, fp8, int8"), bad.toString());
        CliRun e4m3 = CliRun.of("bench", "--kv-cache", "e4m3");
        assertEquals(2, e4m3.exitCode(), e4m3.toString());
        assertTrue(e4m3.err().contains("'e4m3' is not a KV cache type; choose one of bf16, fp8, int8"),
                e4m3.toString());
        for (String cache : new String[] {"int8", "fp8"}) {
            CliRun run = CliRun.of("bench", "--lengths", "130", "--decode-tokens", "70", "--kv-cache", cache,
                    "--device", "cpu");
            assertEquals(0, run.exitCode(), run.toString());
            assertTrue(run.out().contains("130"), run.toString());
            assertTrue(run.out().contains("KV cache " + cache), "the header names the codes: " + run);
        }
        String help = CliRun.of("generate", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("int8 (symmetric int8 codes") && help.contains("fp8 (FP8 e4m3 codes"), help);
    }

    @Test
    void kvOffloadIsAFlagWithTwoValuesThatTheCpuRefusesInOneLine() {
        CliRun bad = CliRun.of("bench", "--kv-offload", "disk");
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("'disk' is not a KV offload; choose one of none, host"), bad.toString());
        CliRun cpu = CliRun.of("bench", "--lengths", "130", "--decode-tokens", "4", "--kv-offload", "host",
                "--device", "cpu");
        assertEquals(1, cpu.exitCode(), cpu.toString());
        assertTrue(cpu.err().contains("--kv-offload host moves a GPU's KV cache to pinned host memory; the CPU backend"
                + " keeps its cache in host memory already"), cpu.toString());
        assertFalse(cpu.err().contains("\tat "), "no stack trace: " + cpu);
        CliRun none = CliRun.of("bench", "--lengths", "130", "--decode-tokens", "4", "--kv-offload", "none",
                "--device", "cpu");
        assertEquals(0, none.exitCode(), none.toString());
    }
}
