package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.RandomLlama;
import io.minference.llama.tokenizer.CharTokenizer;
import io.minference.runtime.Backend;
import io.minference.runtime.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static final int CONTEXT = 24;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void refusesPromptsThatDoNotFitOrAreEmpty() {
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> generator.generate(new int[CONTEXT + 1], 5, SamplingOptions.GREEDY, null, null));
            assertEquals("prompt of 25 tokens does not fit the model's context of 24 tokens", e.getMessage());
            var empty = assertThrows(IllegalArgumentException.class,
                    () -> generator.generate(new int[0], 5, SamplingOptions.GREEDY, null, null));
            assertTrue(empty.getMessage().contains("prompt is empty"), empty.getMessage());
            var bad = assertThrows(IllegalArgumentException.class,
                    () -> generator.generate(new int[] {1, 200}, 5, SamplingOptions.GREEDY, null, null));
            assertTrue(bad.getMessage().contains("token 200 at position 1"), bad.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> generator.generate(new int[] {1}, -1, SamplingOptions.GREEDY, null, null));
        }
    }

    @Test
    void stopsAtMaxTokensAndStreamsEachToken() {
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            List<Integer> streamed = new ArrayList<>();
            List<String> progress = new ArrayList<>();
            GenerationResult r = generator.generate(new int[] {1, 2, 3}, 7, SamplingOptions.GREEDY, streamed::add,
                    (stage, done, total) -> progress.add(stage + " " + done + "/" + total));
            assertEquals("length", r.stopReason());
            assertEquals(7, r.generated().length);
            assertEquals(3, r.promptTokens());
            assertArrayEquals(r.generated(), streamed.stream().mapToInt(Integer::intValue).toArray());
            assertEquals("prefill 3/3", progress.getLast());
            assertTrue(r.prefillNanos() > 0 && r.decodeNanos() > 0);

            GenerationResult none = generator.generate(new int[] {1, 2, 3}, 0, SamplingOptions.GREEDY, null, null);
            assertEquals("length", none.stopReason());
            assertEquals(0, none.generated().length);
        }
    }

    @Test
    void greedyTokensAreTheArgmaxOfTheReferenceLogits() {
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            int[] prompt = {4, 8, 15};
            int[] generated = generator.generate(prompt, 5, SamplingOptions.GREEDY, null, null).generated();
            int[] sequence = Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, sequence, prompt.length, generated.length);
            // Each generated token must be what a fresh prefill of the sequence so far predicts.
            for (int i = 0; i < generated.length; i++) {
                int[] prefix = Arrays.copyOf(sequence, prompt.length + i);
                int next = generator.generate(prefix, 1, SamplingOptions.GREEDY, null, null).generated()[0];
                assertEquals(generated[i], next, "token " + i);
            }
        }
    }

    @Test
    void stopsAtAStopTokenWithoutPassingItOn() {
        int[] prompt = {1, 2, 3};
        int[] free;
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            free = generator.generate(prompt, 12, SamplingOptions.GREEDY, null, null).generated();
        }
        int stop = free[3];
        int firstStop = 0;
        while (free[firstStop] != stop) firstStop++;
        try (LlamaModel model = model(Set.of(stop)); Generator generator = new Generator(model, backend)) {
            List<Integer> streamed = new ArrayList<>();
            GenerationResult r = generator.generate(prompt, 12, SamplingOptions.GREEDY, streamed::add, null);
            assertEquals("eos", r.stopReason());
            assertArrayEquals(Arrays.copyOf(free, firstStop), r.generated());
            assertEquals(firstStop, streamed.size());
        }
    }

    @Test
    void stopsWhenTheContextIsFull() {
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            GenerationResult r = generator.generate(new int[CONTEXT - 4], 100, SamplingOptions.GREEDY, null, null);
            assertEquals("context", r.stopReason());
            assertEquals(4, r.generated().length);
            GenerationResult full = generator.generate(new int[CONTEXT], 100, SamplingOptions.GREEDY, null, null);
            assertEquals("context", full.stopReason());
            assertEquals(0, full.generated().length);
        }
    }

    @Test
    void seededSamplingRepeats() {
        try (LlamaModel model = model(Set.of()); Generator generator = new Generator(model, backend)) {
            SamplingOptions options = new SamplingOptions(1.5f, 0.95f, 1234);
            int[] a = generator.generate(new int[] {7}, 15, options, null, null).generated();
            int[] b = generator.generate(new int[] {7}, 15, options, null, null).generated();
            int[] c = generator.generate(new int[] {7}, 15, new SamplingOptions(1.5f, 0.95f, 999), null, null).generated();
            assertArrayEquals(a, b);
            assertTrue(!Arrays.equals(a, c), "another seed should give another sequence: " + Arrays.toString(a));
        }
    }

    @Test
    void refusesBackendsOtherThanTheCpu() {
        Backend other = new Backend() {
            @Override
            public String name() {
                return "cuda:0";
            }

            @Override
            public void close() {
            }
        };
        try (LlamaModel model = model(Set.of())) {
            var e = assertThrows(IllegalArgumentException.class, () -> new Generator(model, other));
            assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
        }
    }

    private static LlamaModel model(Set<Integer> stops) {
        LlamaConfig config = RandomLlama.smallConfig(CONTEXT);
        return new LlamaModel("test:random", config, RandomLlama.weights(config, 77, false, false),
                new CharTokenizer(config.vocabSize(), stops));
    }
}
