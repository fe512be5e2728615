package io.minference.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MinferenceConfigTest {
    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        Path file = dir.resolve("minference.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private ConfigException failure(String yaml) throws IOException {
        Path file = write(yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> MinferenceConfig.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        return e;
    }

    @Test
    void theExampleFileLoadsWithItsValues() {
        Path example = projectRoot().resolve("examples/minference.yaml");
        MinferenceConfig config = MinferenceConfig.load(example);
        assertEquals(projectRoot().resolve("../shared/data/models/tiny-passkey-llama-f16.gguf").normalize().toString(),
                config.model());
        assertNull(config.tokenizer());
        assertEquals("cpu", config.device());
        assertEquals(new GenerationConfig(128, 0.7, 0.9, 42, false), config.generation());
        assertEquals(new PrefillConfig(128), config.prefill());
    }

    @Test
    void anEmptyFileMeansDefaults() throws IOException {
        assertEquals(MinferenceConfig.DEFAULTS, MinferenceConfig.load(write("# nothing set\n")));
    }

    @Test
    void missingKeysKeepTheirDefaults() throws IOException {
        MinferenceConfig config = MinferenceConfig.load(write("generation:\n  temperature: 1\n"));
        assertEquals(1.0, config.generation().temperature());
        assertEquals(GenerationConfig.DEFAULTS.maxTokens(), config.generation().maxTokens());
        assertEquals(PrefillConfig.DEFAULTS, config.prefill());
        assertEquals("auto", config.device());
        assertNull(config.model());
    }

    @Test
    void relativePathsAreRelativeToTheFileAndSyntheticModelsAreKept() throws IOException {
        MinferenceConfig config = MinferenceConfig.load(write("model: models/m.gguf\ntokenizer: ../t.json\n"));
        assertEquals(dir.resolve("models/m.gguf").toString(), config.model());
        assertEquals(dir.getParent().resolve("t.json"), config.tokenizer());
        assertEquals("synthetic:llama-tiny", MinferenceConfig.load(write("model: synthetic:llama-tiny\n")).model());
    }

    @Test
    void unknownKeySuggestsTheClosestKnownOne() throws IOException {
        ConfigException e = failure("generation:\n  max_token: 10\n");
        assertEquals("generation.max_token", e.keyPath());
        assertTrue(e.getMessage().endsWith("generation.max_token: unknown key; did you mean 'max_tokens'?"),
                e.getMessage());
        assertTrue(failure("temprature: 1\n").getMessage().contains("unknown key"));
        assertTrue(failure("generation:\n  top-p: 0.5\n").getMessage().contains("did you mean 'top_p'?"));
        assertTrue(failure("devise: cpu\n").getMessage().contains("did you mean 'device'?"));
    }

    @Test
    void unknownKeyFarFromAnyListsTheKnownOnes() throws IOException {
        ConfigException e = failure("prefill:\n  sparsity: 0.9\n");
        assertTrue(e.getMessage().endsWith("prefill.sparsity: unknown key; known keys here: block_size"),
                e.getMessage());
    }

    @Test
    void wrongTypesNameTheKeyAndBothTypes() throws IOException {
        ConfigException e = failure("generation:\n  max_tokens: lots\n");
        assertEquals("generation.max_tokens", e.keyPath());
        assertTrue(e.getMessage().endsWith("must be an integer, got the string 'lots'"), e.getMessage());
        assertTrue(failure("generation:\n  max_tokens: 1.5\n").getMessage()
                .endsWith("must be an integer, got the number 1.5"));
        assertTrue(failure("generation:\n  chat: 1\n").getMessage().endsWith("must be true or false, got the integer 1"));
        assertTrue(failure("generation: 5\n").getMessage().contains("generation: must be a mapping"));
        assertTrue(failure("model: [a, b]\n").getMessage().endsWith("model: must be a string, got a list"));
        assertTrue(failure("generation:\n  temperature: hot\n").getMessage()
                .endsWith("generation.temperature: must be a number, got the string 'hot'"));
        assertTrue(failure("- model\n").getMessage().endsWith("the top level must be a mapping of keys to values, got a list"));
        assertTrue(failure("model:\n").getMessage().endsWith("model: has no value (remove the key to use the default)"));
    }

    @Test
    void outOfRangeValuesNameTheRange() throws IOException {
        assertTrue(failure("generation:\n  top_p: 1.5\n").getMessage()
                .endsWith("generation.top_p: must be a number in (0, 1] (1 disables nucleus sampling), got 1.5"));
        assertTrue(failure("generation:\n  top_p: 0\n").getMessage().contains("generation.top_p: must be"));
        assertTrue(failure("generation:\n  max_tokens: -3\n").getMessage()
                .endsWith("generation.max_tokens: must be an integer from 1 to 2147483647, got -3"));
        assertTrue(failure("generation:\n  max_tokens: 3000000000\n").getMessage().contains("got 3000000000"));
        assertTrue(failure("generation:\n  temperature: -0.5\n").getMessage().contains("generation.temperature: must be"));
        assertTrue(failure("generation:\n  temperature: .nan\n").getMessage()
                .endsWith("generation.temperature: must be a finite number, got .nan"));
        assertTrue(failure("prefill:\n  block_size: 48\n").getMessage()
                .endsWith("prefill.block_size: must be a power of two from 1 to 4096, got 48"));
        assertTrue(failure("device: gpu\n").getMessage().endsWith("device: must be auto, cpu, cuda or cuda:N, got 'gpu'"));
        assertEquals("cuda:1", MinferenceConfig.load(write("device: cuda:1\n")).device());
    }

    @Test
    void malformedYamlGivesLineAndColumn() throws IOException {
        Path file = write("model: a\ngeneration:\n  max_tokens: 5\n   temperature: 1\n");
        ConfigException e = assertThrows(ConfigException.class, () -> MinferenceConfig.load(file));
        assertTrue(e.getMessage().startsWith(file + ":4:"), e.getMessage());
        assertTrue(e.getMessage().contains("malformed YAML"), e.getMessage());

        ConfigException unclosed = failure("model: \"abc\n");
        assertTrue(unclosed.getMessage().matches(".*:\\d+:\\d+: malformed YAML: .*"), unclosed.getMessage());
    }

    @Test
    void duplicateKeysAndClassTagsAreRefused() throws IOException {
        assertTrue(failure("model: a\nmodel: b\n").getMessage().contains("duplicate key model"));
        assertTrue(failure("model: !!javax.script.ScriptEngineManager [x]\n").getMessage().contains("malformed YAML"));
    }

    @Test
    void missingFileAndDirectoryAreNamed() {
        Path missing = dir.resolve("nope.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> MinferenceConfig.load(missing));
        assertEquals(missing + ": configuration file not found", e.getMessage());
        ConfigException folder = assertThrows(ConfigException.class, () -> MinferenceConfig.load(dir));
        assertTrue(folder.getMessage().endsWith("is a directory, not a configuration file"));
    }

    @Test
    void notUtf8IsNamed() throws IOException {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, new byte[]{'m', 'o', 'd', 'e', 'l', ':', ' ', (byte) 0xE9, '\n'});
        ConfigException e = assertThrows(ConfigException.class, () -> MinferenceConfig.load(file));
        assertEquals(file + ": is not UTF-8 text", e.getMessage());
    }

    @Test
    void editDistanceIsLevenshteinIgnoringCaseAndDashes() {
        assertEquals(0, Section.editDistance("top-p", "top_p"));
        assertEquals(3, Section.editDistance("kitten", "sitting"));
        assertEquals(1, Section.editDistance("max_token", "max_tokens"));
    }

    private static Path projectRoot() {
        String root = System.getProperty("minference.projectRoot");
        return root != null ? Path.of(root) : Path.of("..").toAbsolutePath().normalize();
    }

    @Test
    void hostileYamlIsRefusedByKeyOrPosition() throws IOException {
        ConfigException nan = failure("generation:\n  temperature: !!float nan\n");
        assertTrue(nan.getMessage().contains("generation.temperature") && nan.getMessage().contains("finite"),
                nan.getMessage());
        ConfigException inf = failure("generation:\n  top_p: .inf\n");
        assertTrue(inf.getMessage().contains("generation.top_p"), inf.getMessage());
        ConfigException huge = failure("generation:\n  temperature: 1e999\n");
        assertTrue(huge.getMessage().contains("generation.temperature"), huge.getMessage());
        ConfigException alias = failure("generation: &x {seed: [*x]}\n");
        assertTrue(alias.getMessage().contains("aliases (*x) are not allowed"), alias.getMessage());
        assertTrue(alias.getMessage().matches(".*:1:\\d+: .*"), "the alias's position: " + alias.getMessage());
        ConfigException duplicate = failure("device: cpu\ndevice: cuda\n");
        assertTrue(duplicate.getMessage().contains("duplicate key"), duplicate.getMessage());
        ConfigException overflow = failure("generation:\n  seed: 99999999999999999999999\n");
        assertTrue(overflow.getMessage().contains("too large"), overflow.getMessage());
    }
}
