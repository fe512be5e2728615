package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.forward.RandomLlama;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.cpu.CpuBackend;
import io.minference.runtime.cuda.EnergyMeter;
import org.junit.jupiter.api.Test;

/** A generation's energy as reports show it, measured or not, and what a CPU generation reports. */
class GenerationEnergyTest {
    @Test
    void aMeasuredGenerationGivesPrefillJoulesAndJoulesPerTokenWithMeanPower() {
        var energy = new GenerationEnergy(new EnergyMeter.Energy(812.34, 1.25), new EnergyMeter.Energy(482, 1.2), 100,
                "");
        assertTrue(energy.measured());
        assertEquals(4.82, energy.decodeJoulesPerToken(), 1e-12);
        assertEquals("prefill 812.3 J (650 W mean); decode 4.82 J per token (402 W mean)", energy.describe());
        var noTokens = new GenerationEnergy(new EnergyMeter.Energy(5, 0.01), new EnergyMeter.Energy(0, 0.001), 0, "");
        assertEquals("prefill 5.0 J (500 W mean); no tokens decoded", noTokens.describe());
        assertTrue(Double.isNaN(noTokens.decodeJoulesPerToken()));
    }

    @Test
    void aDecodeShorterThanTheCounterResolvesHasNoJoulesPerToken() {
        // an H200 read 12 J over 5.5 ms ("1487 W"): one counter step, not a measurement
        assertFalse(new EnergyMeter.Energy(12.01, 0.0055).resolvable());
        assertFalse(new EnergyMeter.Energy(0, 0.5).resolvable());
        assertFalse(new EnergyMeter.Energy(Double.NaN, 0.5).resolvable());
        // eight decode steps at 512K: one counter step or two, 380 or 760 W on a 700 W board
        assertFalse(new EnergyMeter.Energy(123.4, 0.15).resolvable());
        assertTrue(new EnergyMeter.Energy(700, 1.0).resolvable());
        assertEquals("too short for NVML's energy counter (5.5 ms)", new EnergyMeter.Energy(12.01, 0.0055).describe());
        assertEquals("too short for NVML's energy counter (150.0 ms)", new EnergyMeter.Energy(123.4, 0.15).describe());
        assertEquals("700.0 J, 700 W mean", new EnergyMeter.Energy(700, 1.0).describe());
        assertEquals("n/a", new EnergyMeter.Energy(Double.NaN, 1.0).describe());
        var shortDecode = new GenerationEnergy(new EnergyMeter.Energy(812.34, 1.25), new EnergyMeter.Energy(6, 0.02), 4,
                "");
        assertTrue(Double.isNaN(shortDecode.decodeJoulesPerToken()));
        assertEquals("prefill 812.3 J (650 W mean); decode too short for NVML's energy counter", shortDecode.describe());
    }

    @Test
    void whereNothingIsMeasuredOneLineSaysWhyAndNoZerosAppear() {
        var absent = GenerationEnergy.notMeasured("energy: not measured (NVML: libnvidia-ml.so.1 not found)");
        assertFalse(absent.measured());
        assertEquals("energy: not measured (NVML: libnvidia-ml.so.1 not found)", absent.describe());
        assertFalse(absent.describe().contains("0 J"));
        assertThrows(IllegalArgumentException.class, () -> GenerationEnergy.notMeasured(" "));
        assertThrows(IllegalArgumentException.class, () -> new GenerationEnergy(new EnergyMeter.Energy(1, 1),
                new EnergyMeter.Energy(1, 1), 1, "energy: not measured"), "measured and not at once");
    }

    @Test
    void aCpuGenerationSaysEnergyIsNotMeasured() {
        try (LlamaModel model = RandomLlama.charModel(64, 5);
             CpuBackend cpu = new CpuBackend(1);
             LlamaSession session = LlamaSession.open(model, cpu, AttentionPlan.dense(), 16)) {
            GenerationResult result = session.generate(new int[] {1, 2, 3, 4}, GenerationRequest.of(3),
                    GenerationListener.NONE);
            assertFalse(result.energy().measured());
            assertEquals(session.energyMeter().unavailableLine(), result.energy().describe());
            assertTrue(result.energy().describe().startsWith("energy: not measured ("), result.energy().describe());
        }
    }
}
