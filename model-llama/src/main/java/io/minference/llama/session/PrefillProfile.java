package io.minference.llama.session;

import io.minference.runtime.cuda.EnergyMeter;

/**
 * Where a device prefill's time went and what else it cost, asked for with {@link PrefillOptions#profiling()}.
 *
 * @param phases          device seconds per phase of the layer-major prefill
 * @param peakDeviceBytes the most device memory in use, weights included, sampled after every layer or chunk
 * @param energy          the GPU's joules over the prefill (NVML's counter before and after), NaN joules where NVML
 *                        is absent ({@link LlamaSession#energyMeter()} says why)
 */
public record PrefillProfile(PhaseSeconds phases, long peakDeviceBytes, EnergyMeter.Energy energy) {
    /**
     * Device seconds of the linear layers (QKV, output and MLP GEMMs with their norms), the attention kernels, a
     * sparse attention's estimation and index building, and the KV store (an FP8 cache's quantization). All zero
     * when the prefill marked no phases: the chunked dense prefill of a bf16 cache, whose layers interleave.
     */
    public record PhaseSeconds(double linear, double attention, double index, double kvStore) {
        public double total() {
            return linear + attention + index + kvStore;
        }

        /** Whether the prefill marked its phases. */
        public boolean marked() {
            return total() > 0;
        }
    }
}
