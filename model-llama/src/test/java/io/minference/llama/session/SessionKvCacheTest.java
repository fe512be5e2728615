package io.minference.llama.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.llama.KvCacheCodes;
import io.minference.llama.LlamaModel;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.forward.RandomLlama;
import io.minference.llama.sampling.GreedySampler;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The KV cache format an attention plan names reaches the session's sequences (on the CPU, the FP8 reference cache),
 * a prefill cannot change it (outputs compared up to the rounding of the CPU products), the CPU gives no profile,
 * and greedy decode through the session is the argmax.
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
        return RandomLlama.charModel(CONTEXT, SEED);
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

    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8"})
    void an8BitPlanGivesTheSequenceTheCpuReferenceCacheOfItsCodes(KvCacheType type) {
        try (LlamaModel model = model();
             LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            AttentionPlan fp8 = AttentionPlan.dense().withKvCache(type);
            assertEquals(type, fp8.kvCache());
            assertEquals(KvCacheType.BF16, AttentionPlan.dense().kvCache());
            float[][] viaSession = run(session, fp8);
            float[][] bf16 = run(session, AttentionPlan.dense());

            // the reference: the forward pass itself, its cache switched to the type's codes before the prompt
            float[][] expected = new float[STEPS + 1][];
            try (LlamaForward forward = new LlamaForward(model.config(), model.weights(), backend, PROMPT + STEPS,
                    16)) {
                forward.useCodedKvCache(KvCacheCodes.of(type));
                expected[0] = forward.prefill(prompt(), ProgressListener.NONE);
                for (int i = 0; i < STEPS; i++) expected[i + 1] = forward.decode((i * 13 + 1) % 97);
            }
            // the CPU's matrix products may split their sums differently from run to run: equal up to rounding
            double fromReference = worstError(expected, viaSession, 0);
            // the prompt's own attention is full precision, so its logits stay; decode reads FP8, and moves
            double prefillFromBf16 = worstError(new float[][] {bf16[0]}, new float[][] {viaSession[0]}, 0);
            double decodeFromBf16 = worstError(bf16, viaSession, 1);
            System.out.printf("%s through the session: worst relative error %.2e from the forward pass's cache of"
                    + " those codes; %.2e (prefill) and %.2e (decode) from the full-precision cache%n", type,
                    fromReference, prefillFromBf16, decodeFromBf16);
            assertTrue(fromReference < 1e-5, "from the reference: " + fromReference);
            assertTrue(prefillFromBf16 < 1e-5, "prefill: " + prefillFromBf16);
            assertTrue(decodeFromBf16 > 1e-3, "decode over 8-bit codes should move the logits: " + decodeFromBf16);
        }
    }

    /** The worst ‖Δ‖/‖expected‖ over the rows from {@code from}. */
    private static double worstError(float[][] expected, float[][] actual, int from) {
        double worst = 0;
        for (int i = from; i < expected.length; i++) {
            double diff = 0, norm = 0;
            for (int j = 0; j < expected[i].length; j++) {
                double d = (double) actual[i][j] - expected[i][j];
                diff += d * d;
                norm += (double) expected[i][j] * expected[i][j];
            }
            worst = Math.max(worst, Math.sqrt(diff / norm));
        }
        return worst;
    }

    @Test
    void theSessionsPlanNamesTheCacheOfItsSequences() {
        try (LlamaModel model = model();
             LlamaSession fp8 = LlamaSession.open(model, backend,
                     AttentionPlan.dense().withKvCache(KvCacheType.FP8), 16);
             LlamaSession plain = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
            float[][] viaPlan = run(fp8, fp8.attention());
            float[][] viaSession = new float[STEPS + 1][];
            try (Sequence sequence = fp8.newSequence(PROMPT + STEPS)) {
                viaSession[0] = sequence.prefill(prompt(), PrefillOptions.lastLogits(1)).lastLogits();
                for (int i = 0; i < STEPS; i++) viaSession[i + 1] = sequence.decode((i * 13 + 1) % 97);
            }
            assertTrue(worstError(viaPlan, viaSession, 0) < 1e-5);
            assertTrue(worstError(run(plain, plain.attention()), viaSession, 1) > 1e-3, "the session's FP8 decode");
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

    @Test
    void theCpuRefusesAnOffloadedCacheWhenTheSessionOpensAndWhenASequenceAsks() {
        try (LlamaModel model = model()) {
            AttentionPlan offloaded = AttentionPlan.dense().withKvOffload(KvOffload.HOST);
            assertEquals(KvOffload.HOST, offloaded.kvOffload());
            assertTrue(offloaded.toString().endsWith(", KV offload host"), offloaded.toString());
            var e = assertThrows(IllegalArgumentException.class,
                    () -> LlamaSession.open(model, backend, offloaded, 16));
            assertEquals(LlamaSession.CPU_OFFLOAD, e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line");
            try (LlamaSession session = LlamaSession.open(model, backend, AttentionPlan.dense(), 16)) {
                var asked = assertThrows(IllegalArgumentException.class, () -> session.newSequence(PROMPT,
                        offloaded.withKvCache(KvCacheType.FP8)));
                assertEquals(LlamaSession.CPU_OFFLOAD, asked.getMessage());
                assertEquals(KvOffload.HOST, offloaded.withKvCache(KvCacheType.FP8).kvOffload(), "kept by withKvCache");
            }
        }
    }
}
