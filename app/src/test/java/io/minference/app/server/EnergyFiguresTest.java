package io.minference.app.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.minference.llama.generate.GenerationEnergy;
import io.minference.runtime.cuda.EnergyMeter;
import org.junit.jupiter.api.Test;

/** The energy figures of a completion as the API and the demo page get them. */
class EnergyFiguresTest {
    @Test
    void measuredEnergyGivesJoulesAndMeanWattsAndNoUnavailableLine() {
        ObjectNode figures = HttpCall.JSON.createObjectNode();
        OpenAiJson.energy(figures, new GenerationEnergy(new EnergyMeter.Energy(600, 1.5),
                new EnergyMeter.Energy(300, 1.0), 12, ""));
        assertEquals(600, figures.get("prefill_joules").asDouble());
        assertEquals(400, figures.get("prefill_mean_watts").asDouble());
        assertEquals(25, figures.get("decode_joules_per_token").asDouble());
        assertEquals(300, figures.get("decode_mean_watts").asDouble());
        assertFalse(figures.has("energy_unavailable"), figures.toString());
    }

    @Test
    void aPrefillWithoutDecodedTokensHasNoPerTokenFigure() {
        ObjectNode figures = HttpCall.JSON.createObjectNode();
        OpenAiJson.energy(figures, new GenerationEnergy(new EnergyMeter.Energy(10, 0.02),
                new EnergyMeter.Energy(0, 0.001), 0, ""));
        assertEquals(10, figures.get("prefill_joules").asDouble());
        assertTrue(figures.get("decode_joules_per_token").isNull(), figures.toString());
    }

    @Test
    void absentNvmlGivesNullsAndTheOneLine() {
        ObjectNode figures = HttpCall.JSON.createObjectNode();
        OpenAiJson.energy(figures, GenerationEnergy.notMeasured("energy: not measured (NVML: no driver)"));
        assertTrue(figures.get("prefill_joules").isNull() && figures.get("decode_mean_watts").isNull());
        assertEquals("energy: not measured (NVML: no driver)", figures.get("energy_unavailable").asText());
    }
}
