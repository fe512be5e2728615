package io.minference.llama.load;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import io.minference.config.ConfigException;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaModel;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.sparse.config.PatternFileException;
import io.minference.sparse.config.PatternFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutates the shared sample files and the project's own examples, every input format the project reads, and
 * loads each mutant: it must load, or fail with the project's own error type ({@link ModelLoadException},
 * {@link ConfigException}, {@link PatternFileException}) whose message names the file, within 10 s. Any other
 * throwable (a NullPointerException, an index error, NegativeArraySize, ClassCast, OutOfMemory, StackOverflow) or a
 * case past 10 s fails the test with the seed that reproduces it.
 *
 * <p>{@value #DEFAULT_CASES} cases per format by default; {@code -Dminference.fuzz.cases=N} for more, and
 * {@code -Dminference.fuzz.seed=S} to replay. A case's mutants come from {@code Random(seed, format, case)}, so one
 * failing case replays alone: {@code -Dminference.fuzz.only=FORMAT:CASE}.
 */
class LoaderFuzzTest {
    private static final int DEFAULT_CASES = 300;
    private static final long SEED = Long.getLong("minference.fuzz.seed", 20261204L);
    private static final int CASES = Integer.getInteger("minference.fuzz.cases", DEFAULT_CASES);
    private static final String ONLY = System.getProperty("minference.fuzz.only", "");
    private static final Duration CASE_LIMIT = Duration.ofSeconds(10);
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?");
    private static final String[] HOSTILE_NUMBERS = {"0", "-1", "2147483647", "2147483648", "-2147483649",
            "9223372036854775808", "18446744073709551617", "1e999", "-1e999", ".nan", "!!float nan", ".inf", "0x7fffffff",
            "1.5", "-0.0", "1e-320"};
    private static final String[] HOSTILE_INSERTS = {"&a ", "*a ", "&x {b: [*x]}", "!!binary AAAA ", "? ", "- ", "{",
            "[", "}", "]", "\"", "'", ":", ",", "\\u0000", "\t", "~ ", "!!python/object:os.system "};

    @TempDir
    Path dir;

    /** One format: a sample's bytes, where its interesting bytes are, and how the project loads it. */
    private record Format(String name, String fileName, byte[] sample, int headBytes, boolean text, Loader loader) {
    }

    @FunctionalInterface
    private interface Loader {
        void load(Path file) throws Exception;
    }

    @TestFactory
    Stream<DynamicTest> everyLoaderSurvivesMutatedInputs() throws IOException {
        List<Format> formats = new ArrayList<>();
        Path root = Path.of(System.getProperty("minference.projectRoot", "..")).toAbsolutePath().normalize();
        formats.add(new Format("config-yaml", "minference.yaml",
                Files.readAllBytes(root.resolve("examples/minference.yaml")), Integer.MAX_VALUE, true,
                MinferenceConfig::load));
        formats.add(new Format("pattern-yaml", "patterns.yaml", Files.readAllBytes(root.resolve("examples/patterns.yaml")),
                Integer.MAX_VALUE, true, PatternFiles::read));
        formats.add(new Format("shape-yaml", "shape.yaml", SHAPE.getBytes(StandardCharsets.UTF_8), Integer.MAX_VALUE,
                true, file -> ModelLoader.inspect("synthetic:" + file)));
        shared("minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json").ifPresent(bytes ->
                formats.add(new Format("minference-json", "patterns.json", bytes, Integer.MAX_VALUE, true,
                        PatternFiles::read)));
        shared("models/tok512.bin").ifPresent(bytes -> formats.add(new Format("tok-bin", "tok512.bin", bytes,
                Integer.MAX_VALUE, false, file -> ModelLoader.loadTokenizer(file, 512))));
        shared("models/tiny-passkey-llama-tokenizer.json").ifPresent(bytes -> formats.add(new Format(
                "tokenizer-json", "tokenizer.json", bytes, Integer.MAX_VALUE, true,
                file -> ModelLoader.loadTokenizer(file, 4096))));
        shared("models/stories260K.bin").ifPresent(bytes -> formats.add(new Format("llama2c", "stories260K.bin",
                bytes, 64, false, LoaderFuzzTest::loadModel)));
        // The GGUF's metadata (tokens and merges included) lies in its first 256 KiB; the rest is tensor data.
        shared("models/tiny-passkey-llama-f16.gguf").ifPresent(bytes -> formats.add(new Format("gguf",
                "model.gguf", bytes, 256 << 10, false, LoaderFuzzTest::loadModel)));
        return formats.stream().map(f -> DynamicTest.dynamicTest(f.name(), () -> fuzz(f)));
    }

    private void fuzz(Format format) throws Exception {
        Path file = dir.resolve(format.fileName());
        if (format.name().equals("llama2c")) {
            // A llama2.c checkpoint's tokenizer is looked up beside it.
            shared("models/tok512.bin").ifPresent(bytes -> write(dir.resolve("tok512.bin"), bytes));
        }
        write(file, format.sample());
        assertOutcome(format, file, -1, "the unmutated sample");
        System.out.println("fuzzing " + format.name() + ": " + CASES + " cases, seed " + SEED);
        int loaded = 0;
        for (int c = 0; c < CASES; c++) {
            if (!ONLY.isEmpty() && !ONLY.equals(format.name() + ":" + c)) continue;
            Random random = new Random(SEED * 1_000_003L + format.name().hashCode() * 7919L + c);
            StringBuilder mutation = new StringBuilder();
            write(file, mutate(format, random, mutation));
            if (assertOutcome(format, file, c, mutation.toString())) loaded++;
        }
        System.out.println("fuzzed " + format.name() + ": " + loaded + " of " + CASES + " mutants loaded, the rest"
                + " refused with a clear error");
    }

    /** True when the file loaded; false when it was refused as the project refuses input. */
    private static boolean assertOutcome(Format format, Path file, int c, String mutation) {
        Throwable thrown = assertTimeoutPreemptively(CASE_LIMIT, () -> {
            try {
                format.loader().load(file);
                return null;
            } catch (Throwable t) {
                return t;
            }
        }, () -> replay(format, c, mutation) + ": took more than " + CASE_LIMIT.toSeconds() + " s");
        if (thrown == null) return true;
        if (c < 0) fail("the unmutated sample does not load: " + thrown, thrown);
        boolean ownType = thrown instanceof ModelLoadException || thrown instanceof ConfigException
                || thrown instanceof PatternFileException;
        if (!ownType) fail(replay(format, c, mutation) + ": " + thrown, thrown);
        String message = String.valueOf(thrown.getMessage());
        if (!message.contains(file.getFileName().toString())) {
            fail(replay(format, c, mutation) + ": the message does not name the file: " + message, thrown);
        }
        return false;
    }

    private static String replay(Format format, int c, String mutation) {
        return "format " + format.name() + ", case " + c + " (" + mutation + "); replay with -Dminference.fuzz.seed="
                + SEED + " -Dminference.fuzz.only=" + format.name() + ":" + c;
    }

    private static void loadModel(Path file) {
        try (LlamaModel model = ModelLoader.load(file.toString(), null, ProgressListener.NONE)) {
            model.config();
        }
    }

    /** One to three mutations, byte-level for every format and text-aware for text. */
    static byte[] mutate(Format format, Random random, StringBuilder log) {
        byte[] bytes = format.sample();
        int count = 1 + random.nextInt(3);
        for (int m = 0; m < count; m++) {
            if (format.text() && random.nextBoolean()) {
                bytes = mutateText(new String(bytes, StandardCharsets.UTF_8), random, log)
                        .getBytes(StandardCharsets.UTF_8);
            } else {
                bytes = mutateBytes(bytes, Math.min(format.headBytes(), bytes.length), random, log);
            }
        }
        return bytes;
    }

    private static byte[] mutateBytes(byte[] original, int head, Random random, StringBuilder log) {
        if (original.length == 0) return original;
        byte[] bytes = original.clone();
        int at = random.nextInt(4) > 0 ? random.nextInt(Math.max(1, head)) : random.nextInt(bytes.length);
        switch (random.nextInt(6)) {
            case 0 -> {
                int bit = random.nextInt(8);
                bytes[at] ^= (byte) (1 << bit);
                log.append("flip bit ").append(bit).append(" at ").append(at).append("; ");
            }
            case 1 -> {
                long[] values = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, 0x7fff_ffff_ffffL,
                        random.nextLong()};
                long v = values[random.nextInt(values.length)];
                int width = new int[] {1, 2, 4, 8}[random.nextInt(4)];
                for (int i = 0; i < width && at + i < bytes.length; i++) bytes[at + i] = (byte) (v >>> (8 * i));
                log.append("write ").append(v).append(" (").append(width).append(" bytes) at ").append(at)
                        .append("; ");
            }
            case 2 -> {
                log.append("truncate to ").append(at).append("; ");
                return Arrays.copyOf(bytes, at);
            }
            case 3 -> {
                int length = Math.min(1 + random.nextInt(64), bytes.length - at);
                log.append("delete ").append(length).append(" at ").append(at).append("; ");
                byte[] out = new byte[bytes.length - length];
                System.arraycopy(bytes, 0, out, 0, at);
                System.arraycopy(bytes, at + length, out, at, bytes.length - at - length);
                return out;
            }
            case 4 -> {
                int length = Math.min(1 + random.nextInt(64), bytes.length - at);
                log.append("duplicate ").append(length).append(" at ").append(at).append("; ");
                byte[] out = new byte[bytes.length + length];
                System.arraycopy(bytes, 0, out, 0, at + length);
                System.arraycopy(bytes, at, out, at + length, bytes.length - at);
                return out;
            }
            default -> {
                bytes[at] = (byte) random.nextInt(256);
                log.append("random byte at ").append(at).append("; ");
            }
        }
        return bytes;
    }

    private static String mutateText(String text, Random random, StringBuilder log) {
        switch (random.nextInt(3)) {
            case 0 -> {
                List<int[]> numbers = new ArrayList<>();
                Matcher matcher = NUMBER.matcher(text);
                while (matcher.find()) numbers.add(new int[] {matcher.start(), matcher.end()});
                if (numbers.isEmpty()) return text;
                int[] n = numbers.get(random.nextInt(numbers.size()));
                String replacement = HOSTILE_NUMBERS[random.nextInt(HOSTILE_NUMBERS.length)];
                log.append("number at ").append(n[0]).append(" -> ").append(replacement).append("; ");
                return text.substring(0, n[0]) + replacement + text.substring(n[1]);
            }
            case 1 -> {
                int at = random.nextInt(text.length() + 1);
                String insert = HOSTILE_INSERTS[random.nextInt(HOSTILE_INSERTS.length)];
                log.append("insert '").append(insert).append("' at ").append(at).append("; ");
                return text.substring(0, at) + insert + text.substring(at);
            }
            default -> {
                String[] lines = text.split("\n", -1);
                int line = random.nextInt(lines.length);
                log.append("duplicate line ").append(line).append("; ");
                List<String> out = new ArrayList<>(Arrays.asList(lines));
                out.add(line, lines[line]);
                return String.join("\n", out);
            }
        }
    }

    private static Optional<byte[]> shared(String relative) {
        Optional<Path> file = SharedData.file(relative);
        if (file.isEmpty()) System.out.println("fuzz: shared sample " + relative + " not found; its format is skipped");
        return file.map(path -> {
            try {
                return Files.readAllBytes(path);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static void write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The shape YAML example of SyntheticShape's documentation, small enough to inspect quickly. */
    private static final String SHAPE = """
            dim: 512
            hidden_dim: 1408
            layers: 4
            heads: 8
            kv_heads: 2
            vocab_size: 258
            context_length: 32768
            rope_base: 500000
            rms_eps: 1.0e-5
            shared_classifier: true
            seed: 0
            """;
}
