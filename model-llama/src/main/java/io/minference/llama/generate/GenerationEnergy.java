package io.minference.llama.generate;

import io.minference.runtime.cuda.EnergyMeter;
import java.util.Locale;
import java.util.Objects;

/**
 * The GPU's energy over one generation, from NVML's total-energy counter read before the prefill, between prefill
 * and decode, and after the last token (the whole board's, so whatever else runs on the GPU counts too). Where NVML
 * is absent (or on the CPU) nothing is measured and {@link #unavailableLine()} says why, in one line, instead of
 * zeros.
 *
 * @param prefill         joules and seconds of the prefill (NaN joules when not measured)
 * @param decode          joules and seconds of the decode, from the prefill's end to the last token
 * @param generatedTokens the tokens the decode produced (the first is chosen from the prefill's logits)
 * @param unavailableLine empty when measured, otherwise the one line saying why not
 */
public record GenerationEnergy(EnergyMeter.Energy prefill, EnergyMeter.Energy decode, int generatedTokens,
                               String unavailableLine) {
    public GenerationEnergy {
        Objects.requireNonNull(prefill, "prefill");
        Objects.requireNonNull(decode, "decode");
        Objects.requireNonNull(unavailableLine, "unavailableLine");
        if (Double.isNaN(prefill.joules()) != !unavailableLine.isEmpty()) {
            throw new IllegalArgumentException("energy is either measured or says why not, not both or neither");
        }
    }

    /** Nothing measured, for the reason {@code line} gives ("energy: not measured (...)"). */
    public static GenerationEnergy notMeasured(String line) {
        if (line.isBlank()) throw new IllegalArgumentException("say why energy is not measured");
        EnergyMeter.Energy none = new EnergyMeter.Energy(Double.NaN, 0);
        return new GenerationEnergy(none, none, 0, line);
    }

    public boolean measured() {
        return unavailableLine.isEmpty();
    }

    /**
     * The decode's joules per generated token; NaN when not measured, when nothing was generated, or when the decode
     * was too short for NVML's counter to resolve ({@link EnergyMeter.Energy#resolvable}).
     */
    public double decodeJoulesPerToken() {
        return generatedTokens == 0 || !decode.resolvable() ? Double.NaN : decode.joules() / generatedTokens;
    }

    /**
     * "prefill 812.3 J (690 W mean); decode 2.41 J per token (402 W mean)", or the unavailable line. A generation
     * without decoded tokens gives its prefill only.
     */
    public String describe() {
        if (!measured()) return unavailableLine;
        String prefillPart = String.format(Locale.ROOT, "prefill %.1f J (%.0f W mean)", prefill.joules(),
                prefill.meanWatts());
        if (generatedTokens == 0) return prefillPart + "; no tokens decoded";
        if (Double.isNaN(decodeJoulesPerToken())) return prefillPart + "; decode too short for NVML's energy counter";
        return prefillPart + String.format(Locale.ROOT, "; decode %.2f J per token (%.0f W mean)",
                decodeJoulesPerToken(), decode.meanWatts());
    }
}
