package io.minference.llama.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.config.KvCacheType;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.forward.RandomLlama;
import io.minference.llama.sampling.GreedySampler;
import io.minference.llama.tokenizer.CharTokenizer;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The KV cache format an attention plan names reaches the session's sequences (on the CPU, the FP8 reference cache),
 * a prefill cannot change it, the CPU gives no profile, and greedy decode through the session is the argmax.
 */
class SessionKvCacheTest {
    private static final int CONTEXT = 300;
    private static final long SEED = 11;
    private static final int PROMPT = 150;
    private static final int STEPS = 40;
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
        System.out.println("SessionKvCacheTest: random weights, seed " + SEED);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static LlamaModel model() {
        LlamaConfig config = RandomLlama.smallConfig(CONTEXT);
        return new LlamaModel("test:random", config, RandomLlama.weights(config, SEED, false, false),
                new CharTokenizer(config.vocabSize(), Set.of()));
    }

    private static int[] prompt() {
        int[] ids = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) ids[i] = (i * 37 + 3) % 97;
        return ids;
    }

    /** The prompt's last logits, then the logits of STEPS teacher-forced decode steps, through a session sequence. */
    private static float[][] run(LlamaSession session, AttentionPlan plan) {
        float[][] out = new float[STEPS + 1][];
        try (Sequence sequence = session.newSequence(PROMPT + STEPS, plan)) {
            out[0] = sequence.prefill(prompt(), PrefillOptions.lastLogits(1).withAttention(plan)).lastLogits();
            for (int i = 0; i < STEPS; i++) out[i + 1] = sequence.decode((i * 13 + 1) % 97);
        }
        return out;
    }

    @Test
    void anFp8PlanGivesTheSequenceTheCpuReferenceFp8Cache() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            AttentionPlan fp8 = AttentionPlan.dense().withKvCache(KvCacheType.FP8);
            assertEquals(KvCacheType.FP8, fp8.kvCache());
            assertEquals(KvCacheType.BF16, AttentionPlan.dense().kvCache());
            float[][] viaSession = run(session, fp8);
            float[][] bf16 = run(session, AttentionPlan.dense());

            // the reference: the forward pass itself, its cache switched to FP8 before the prompt
            float[][] expected = new float[STEPS + 1][];
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), backend, PROMPT + STEPS,
                    16)) {
                forward.useFp8KvCache();
                expected[0] = forward.prefill(prompt(), ProgressListener.NONE);
                for (int i = 0; i < STEPS; i++) expected[i + 1] = forward.decode((i * 13 + 1) % 97);
            }
            for (int i = 0; i <= STEPS; i++) assertArrayEquals(expected[i], viaSession[i], "step " + i);
            // the prompt's own attention is full precision: its logits do not change; decode reads FP8 and does
            assertArrayEquals(bf16[0], viaSession[0], "prefill logits");
            boolean differs = false;
            for (int i = 1; i <= STEPS; i++) differs |= !Arrays.equals(bf16[i], viaSession[i]);
            assertTrue(differs, "decode over the FP8 cache should differ from the full-precision cache somewhere");
        }
    }

    @Test
    void theSessionsPlanNamesTheCacheOfItsSequences() {
        try (LlamaModel model = model();
             LlamaSession fp8 = LlamaSession.open(model, backend,
                     AttentionPlan.dense().withKvCache(KvCacheType.FP8), 16);
             LlamaSession plain = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            float[][] viaPlan = run(fp8, fp8.attention());
            try (Sequence sequence = fp8.newSequence(PROMPT + STEPS)) {
                float[] first = sequence.prefill(prompt(), PrefillOptions.lastLogits(1)).lastLogits();
                assertArrayEquals(viaPlan[0], first);
                for (int i = 0; i < STEPS; i++) {
                    assertArrayEquals(viaPlan[i + 1], sequence.decode((i * 13 + 1) % 97), "step " + i);
                }
            }
            assertFalse(Arrays.deepEquals(viaPlan, run(plain, plain.attention())));
        }
    }

    @Test
    void aPrefillCannotAskForAnotherCacheThanItsSequences() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16);
             Sequence sequence = session.newSequence(PROMPT)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sequence.prefill(prompt(),
                    PrefillOptions.lastLogits(1).withAttention(AttentionPlan.dense().withKvCache(KvCacheType.FP8))));
            assertTrue(e.getMessage().contains("keeps a bf16 KV cache") && e.getMessage().contains("fp8"),
                    e.getMessage());
        }
    }

    @Test
    void theCpuGivesNoProfileAndNoEnergy() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            PrefillResult r = session.prefill(prompt(), PrefillOptions.lastLogits(1).profiling());
            assertNull(r.profile());
            assertTrue(session.devicePlan(PROMPT, session.attention()).isEmpty());
            assertFalse(session.energyMeter().available());
            assertTrue(session.energyMeter().unavailableLine().contains("cpu"),
                    session.energyMeter().unavailableLine());
        }
    }

    @Test
    void greedyDecodeIsTheArgmaxOfTheDecodedLogits() {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16);
             Sequence greedy = session.newSequence(PROMPT + 8);
             Sequence logits = session.newSequence(PROMPT + 8)) {
            int a = GreedySampler.argmax(greedy.prefill(prompt(), PrefillOptions.lastLogits(1)).lastLogits());
            int b = GreedySampler.argmax(logits.prefill(prompt(), PrefillOptions.lastLogits(1)).lastLogits());
            for (int i = 0; i < 8; i++) {
                a = greedy.decodeGreedy(a);
                b = GreedySampler.argmax(logits.decode(b));
                assertEquals(b, a, "step " + i);
            }
        }
    }
}
