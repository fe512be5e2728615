package io.minference.kernels.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.DeviceTensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link TopPSample} on a real GPU against its twin {@link CpuTopPSample}: the same token, exactly, on fresh random
 * logits (Gaussian, and coarsely rounded ones full of ties), at several temperatures, top-p values and uniform
 * numbers; the output poisoned first; a row of NaN gives -1.
 */
@Tag("gpu")
class TopPSampleGpuTest {
    private static DeviceFixture gpu;

    @BeforeAll
    static void open() {
        gpu = DeviceFixture.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @ParameterizedTest(name = "vocab {0}")
    @ValueSource(ints = {512, 128256})
    void picksTheTwinsTokenExactly(int vocab) {
        TopPSample kernel = new TopPSample();
        float[] gaussian = gpu.gaussians(vocab, 3);
        float[] tied = new float[vocab];
        for (int i = 0; i < vocab; i++) tied[i] = Math.round(gaussian[i] * 2) / 2f;
        int checked = 0;
        for (float[] logits : new float[][] {gaussian, tied}) {
            try (DeviceTensor dLogits = gpu.f32(logits);
                 DeviceTensor keys = gpu.poisoned(DType.I32, vocab, DeviceFixture.POISON);
                 DeviceTensor out = gpu.poisoned(DType.I32, 1, DeviceFixture.POISON)) {
                for (float temperature : new float[] {0.3f, 1f, 1.7f}) {
                    for (float topP : new float[] {1f, 0.95f, 0.5f, 0.05f}) {
                        for (int draw = 0; draw < 4; draw++) {
                            double u = draw == 0 ? 0.0 : gpu.random.nextDouble();
                            kernel.launch(gpu.stream(), dLogits, keys, out, vocab, temperature, topP, u);
                            int got = gpu.downloadI32(out)[0];
                            int want = CpuTopPSample.sample(logits, 0, vocab, temperature, topP, u);
                            assertEquals(want, got, "vocab " + vocab + ", T " + temperature + ", top-p " + topP
                                    + ", u " + u + "; " + gpu.context());
                            checked++;
                        }
                    }
                }
            }
        }
        assertEquals(2 * 3 * 4 * 4, checked);
        try (DeviceTensor dLogits = gpu.f32(gaussian); DeviceTensor keys = gpu.poisoned(DType.I32, vocab, 0);
             DeviceTensor out = gpu.poisoned(DType.I32, 1, DeviceFixture.POISON)) {
            double ms = gpu.medianMillis(20, () -> kernel.launch(gpu.stream(), dLogits, keys, out, vocab, 0.8f, 0.9f,
                    0.5));
            System.out.printf("BENCH %s vocab %d: %.1f us%n", kernel.entryName(), vocab, ms * 1e3);
        }
    }

    @ParameterizedTest(name = "vocab {0}")
    @ValueSource(ints = {512})
    void aRowOfNanGivesMinusOne(int vocab) {
        float[] logits = new float[vocab];
        Arrays.fill(logits, Float.NaN);
        try (DeviceTensor dLogits = gpu.f32(logits); DeviceTensor keys = gpu.poisoned(DType.I32, vocab, 0);
             DeviceTensor out = gpu.poisoned(DType.I32, 1, DeviceFixture.POISON)) {
            new TopPSample().launch(gpu.stream(), dLogits, keys, out, vocab, 1f, 0.9f, 0.5);
            assertEquals(-1, gpu.downloadI32(out)[0]);
            logits[vocab - 3] = 4f;
            logits[7] = 4f;
            dLogits.buffer().copyFromHost(MemorySegment.ofArray(logits));
            new TopPSample().launch(gpu.stream(), dLogits, keys, out, vocab, 1f, 1f, 0.75);
            int token = gpu.downloadI32(out)[0];
            assertTrue(token == vocab - 3, "the second of two equal finite logits for u = 0.75, got " + token);
        }
    }
}
