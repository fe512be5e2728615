package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.gguf.GgmlType;
import io.minference.llama.gguf.GgufFile;
import io.minference.llama.gguf.GgufFileWriter;
import io.minference.llama.gguf.GgufType;
import io.minference.llama.gguf.GgufValue;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code minference quantize}: a small F32 model file converted to Q8_0, and its refusals. */
class QuantizeCommandTest {
    @TempDir
    Path dir;

    private Path smallModel() throws Exception {
        Path file = dir.resolve("small.gguf");
        new GgufFileWriter().put("general.architecture", new GgufValue.Text("llama"))
                .put("general.file_type", new GgufValue.Int(GgufType.UINT32, 0))
                .tensor("blk.0.ffn_norm.weight", GgmlType.F32, new long[] {32},
                        data -> { for (int i = 0; i < 32; i++) data.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1); })
                .tensor("blk.0.ffn_up.weight", GgmlType.F32, new long[] {64, 2},
                        data -> { for (int i = 0; i < 128; i++) data.setAtIndex(ValueLayout.JAVA_FLOAT, i, i / 127f); })
                .write(file);
        return file;
    }

    @Test
    void convertsTheMatricesAndSaysWhatItDid() throws Exception {
        Path out = dir.resolve("small-q8_0.gguf");
        CliRun run = CliRun.of("quantize", "--model", smallModel().toString(), "--type", "q8_0", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("wrote " + out + ": 1 tensors converted (F32) to Q8_0, 1 copied;"),
                run.toString());
        try (GgufFile gguf = GgufFile.open(out)) {
            assertEquals(GgmlType.Q8_0, gguf.requireTensor("blk.0.ffn_up.weight").type());
            assertEquals(GgmlType.F32, gguf.requireTensor("blk.0.ffn_norm.weight").type());
            assertEquals(7, gguf.metadata().requireInt("general.file_type"));
            assertEquals(1f, gguf.loadF32(gguf.requireTensor("blk.0.ffn_up.weight")).getFloat(127), 1f / 254);
        }
    }

    @Test
    void convertsToQ4_0() throws Exception {
        Path out = dir.resolve("small-q4_0.gguf");
        CliRun run = CliRun.of("quantize", "--model", smallModel().toString(), "--type", "q4_0", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        try (GgufFile gguf = GgufFile.open(out)) {
            assertEquals(GgmlType.Q4_0, gguf.requireTensor("blk.0.ffn_up.weight").type());
            assertEquals(2, gguf.metadata().requireInt("general.file_type"));
            // the row's largest magnitude (1) takes the low end exactly: d = 1 / -8, q = 0 → (0 - 8) · d = 1
            assertEquals(1f, gguf.loadF32(gguf.requireTensor("blk.0.ffn_up.weight")).getFloat(127), 1e-3f);
        }
    }

    @Test
    void refusesAnUnknownTypeAFileThatIsNotGgufAndWritingOverItsInput() throws Exception {
        Path model = smallModel();
        CliRun type = CliRun.of("quantize", "--model", model.toString(), "--type", "q3_k", "--out", "x.gguf");
        assertEquals(2, type.exitCode(), type.toString());
        assertTrue(type.err().contains("Invalid value for option '--type': must be one of q4_0, q8_0, got 'q3_k'"),
                type.toString());

        Path text = Files.writeString(dir.resolve("notes.txt"), "not a model");
        CliRun notGguf = CliRun.of("quantize", "--model", text.toString(), "--type", "q8_0", "--out",
                dir.resolve("o.gguf").toString());
        assertEquals(1, notGguf.exitCode(), notGguf.toString());
        assertEquals("minference: model file " + text + " is not a GGUF file", notGguf.errLines()[0]);

        CliRun itself = CliRun.of("quantize", "--model", model.toString(), "--type", "q8_0", "--out", model.toString());
        assertEquals(1, itself.exitCode(), itself.toString());
        assertTrue(itself.err().contains("--out names the model file itself"), itself.toString());

        CliRun missing = CliRun.of("quantize", "--model", model.toString(), "--type", "q8_0");
        assertEquals(2, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("Missing required option: '--out=PATH'"), missing.toString());
    }
}
