package io.minference.kernels.transformer;

/**
 * RoPE's per-pair angular frequencies as {@link RopeKvWrite} reads them, and Llama-3.1's frequency factors.
 * Frequency i is {@code theta^(-2i/headDim) / factor[i]}, formed in double exactly as
 * {@link io.minference.kernels.cpu.Rope} forms it, then stored as two floats {@code hi = (float) f} and
 * {@code lo = (float) (f - hi)}: 48 bits of the frequency, so that the kernel's angle {@code position * f} keeps its
 * precision at positions in the millions (one f32 frequency alone is off by up to 2^-25 relative, which at position
 * 10^6 and frequency 1 is 0.03 radians).
 */
public final class RopeFrequencies {
    private RopeFrequencies() {
    }

    /** The table [headDim/2][2] of (hi, lo) pairs; {@code freqFactors} ([headDim/2] divisors) may be null. */
    public static float[] table(int headDim, float theta, float[] freqFactors) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head size, got " + headDim);
        }
        if (freqFactors != null && freqFactors.length != headDim / 2) {
            throw new IllegalArgumentException("RoPE frequency factors: expected " + headDim / 2
                    + " (head size / 2), got " + freqFactors.length);
        }
        float[] table = new float[headDim];
        for (int i = 0; i < headDim / 2; i++) {
            double f = Math.pow(theta, -2.0 * i / headDim);
            if (freqFactors != null) f /= freqFactors[i];
            float hi = (float) f;
            table[2 * i] = hi;
            table[2 * i + 1] = (float) (f - hi);
        }
        return table;
    }

    /**
     * Llama-3.1's RoPE scaling as per-frequency divisors (what GGUF stores as rope_freqs.weight): frequencies whose
     * wavelength is under {@code originalContext / highFreqFactor} stay, those over
     * {@code originalContext / lowFreqFactor} are divided by {@code factor}, and those between are blended smoothly.
     * Llama-3.1-8B: factor 8, low 1, high 4, original context 8192, theta 500000.
     */
    public static float[] llama31Factors(int headDim, float theta, double factor, double lowFreqFactor,
                                         double highFreqFactor, int originalContext) {
        if (!(factor >= 1) || !(highFreqFactor > lowFreqFactor) || !(lowFreqFactor > 0) || originalContext <= 0) {
            throw new IllegalArgumentException("Llama-3.1 RoPE scaling needs factor >= 1, 0 < low < high frequency"
                    + " factors and a positive original context; got factor " + factor + ", low " + lowFreqFactor
                    + ", high " + highFreqFactor + ", context " + originalContext);
        }
        double lowFreqWavelength = originalContext / lowFreqFactor;
        double highFreqWavelength = originalContext / highFreqFactor;
        float[] factors = new float[headDim / 2];
        for (int i = 0; i < factors.length; i++) {
            double wavelength = 2 * Math.PI / Math.pow(theta, -2.0 * i / headDim);
            if (wavelength < highFreqWavelength) {
                factors[i] = 1f;
            } else if (wavelength > lowFreqWavelength) {
                factors[i] = (float) factor;
            } else {
                double smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                factors[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return factors;
    }
}
