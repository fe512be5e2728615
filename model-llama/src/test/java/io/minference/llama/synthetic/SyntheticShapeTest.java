package io.minference.llama.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.load.ModelFormatException;
import io.minference.llama.load.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticShapeTest {
    @TempDir
    Path dir;

    @Test
    void namedShapes() {
        SyntheticShape tiny = SyntheticShape.parse("tiny");
        assertEquals(new LlamaConfig(512, 1408, 4, 8, 2, 258, 32768, 500000f, 1e-5f), tiny.config());
        assertEquals(64, tiny.config().headDim());

        SyntheticShape small = SyntheticShape.parse("llama3-1b");
        assertEquals(new LlamaConfig(2048, 8192, 16, 32, 8, 128256, 131072, 500000f, 1e-5f), small.config());
        assertTrue(small.sharedClassifier());
        long params = small.config().parameterCount(true);
        assertTrue(params > 1_230_000_000L && params < 1_240_000_000L, "Llama-3.2-1B has 1.24 G parameters: " + params);

        SyntheticShape large = SyntheticShape.parse("llama3-8b");
        assertEquals(new LlamaConfig(4096, 14336, 32, 32, 8, 128256, 1048576, 500000f, 1e-5f), large.config());
        assertFalse(large.sharedClassifier());
        long params8b = large.config().parameterCount(false);
        assertTrue(params8b > 8_000_000_000L && params8b < 8_050_000_000L, "Llama-3-8B has 8.03 G parameters: " + params8b);
    }

    @Test
    void yamlShapeWithDefaults() throws IOException {
        Path file = Files.writeString(dir.resolve("shape.yaml"), """
                dim: 128
                hidden_dim: 344
                layers: 3
                heads: 4
                context_length: 2048
                seed: 9
                """);
        SyntheticShape shape = SyntheticShape.parse(file.toString());
        assertEquals(new LlamaConfig(128, 344, 3, 4, 4, 258, 2048, 500000f, 1e-5f), shape.config());
        assertTrue(shape.sharedClassifier());
        assertEquals(9, shape.seed());
        assertEquals(file.toString(), shape.name());
    }

    @Test
    void yamlShapeWithEveryKey() throws IOException {
        Path file = Files.writeString(dir.resolve("full.yml"), """
                dim: 256
                hidden_dim: 512
                layers: 2
                heads: 8
                kv_heads: 2
                vocab_size: 1000
                context_length: 4096
                rope_base: 10000.0
                rms_eps: 1.0e-6
                shared_classifier: false
                seed: -3
                """);
        SyntheticShape shape = SyntheticShape.fromYaml(file);
        assertEquals(new LlamaConfig(256, 512, 2, 8, 2, 1000, 4096, 10000f, 1e-6f), shape.config());
        assertFalse(shape.sharedClassifier());
        assertEquals(-3, shape.seed());
    }

    @Test
    void yamlErrorsNameTheFileAndKey() throws IOException {
        String base = "dim: 64\nhidden_dim: 128\nlayers: 2\nheads: 4\ncontext_length: 64\n";
        assertYamlFails("unknown.yaml", base + "head_dim: 16\n", "unknown key 'head_dim'");
        assertYamlFails("missing.yaml", base.replace("layers: 2\n", ""), "missing key 'layers'");
        assertYamlFails("text.yaml", base.replace("heads: 4", "heads: four"), "key 'heads' must be a positive integer",
                "\"four\"");
        assertYamlFails("negative.yaml", base.replace("dim: 64", "dim: -64"), "key 'dim' must be a positive integer");
        assertYamlFails("float.yaml", base + "rope_base: high\n", "key 'rope_base' must be a positive number");
        assertYamlFails("bool.yaml", base + "shared_classifier: 3\n", "key 'shared_classifier' must be true or false");
        assertYamlFails("syntax.yaml", "dim: [64\n", "malformed YAML");
        assertYamlFails("list.yaml", "- dim: 64\n", "must be a YAML mapping");
        assertYamlFails("config.yaml", base.replace("heads: 4", "heads: 3"), "multiple of the head count 3");
        assertYamlFails("kv.yaml", base + "kv_heads: 3\n", "KV head count");
    }

    private void assertYamlFails(String name, String yaml, String... parts) throws IOException {
        Path file = Files.writeString(dir.resolve(name), yaml);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SyntheticShape.fromYaml(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String part : parts) assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SyntheticShape.parse("llama5-9000b"));
        assertTrue(e.getMessage().startsWith("synthetic:llama5-9000b: "), e.getMessage());
        assertTrue(e.getMessage().contains("tiny, llama3-1b, llama3-8b"), e.getMessage());
    }

    @Test
    void hostileShapeFilesGetOneClearError() throws IOException {
        String rest = "hidden_dim: 128\nlayers: 2\nheads: 4\ncontext_length: 256\n";
        assertYamlFails("alias.yaml", "dim: &x {b: [*x]}\n" + rest, "aliases (*x) are not allowed");
        assertYamlFails("dup.yaml", "dim: 64\ndim: 128\n" + rest, "duplicate key dim");
        assertYamlFails("nan.yaml", "dim: 64\n" + rest + "rope_base: !!float nan\n", "key 'rope_base'",
                "finite");
        assertYamlFails("wide.yaml", "dim: 65536\nhidden_dim: 128\nlayers: 64\nheads: 4\ncontext_length: 256\n",
                "key 'dim' must be at most 16384");
        assertYamlFails("big.yaml", "dim: 16384\nhidden_dim: 65536\nlayers: 256\nheads: 128\ncontext_length: 256\n",
                "parameters; a synthetic model may have at most");
        assertYamlFails("odd.yaml", "dim: 60\nhidden_dim: 128\nlayers: 2\nheads: 4\ncontext_length: 256\n",
                "head size", "RoPE needs it even");
    }
}
