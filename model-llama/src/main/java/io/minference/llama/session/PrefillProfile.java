package io.minference.llama.session;

import io.minference.llama.gpu.LinearKernel;
import io.minference.runtime.cuda.EnergyMeter;
import java.util.Map;

/**
 * Where a device prefill's time went and what else it cost, asked for with {@link PrefillOptions#profiling()}.
 *
 * @param phases          device seconds per phase of the prefill
 * @param kernels         device seconds per kernel outside attention, every {@link LinearKernel} present (zero where
 *                        none ran); {@link LinearKernel#floorSeconds} gives each one's floor
 * @param peakDeviceBytes the most device memory in use, weights included, sampled after every layer or chunk
 * @param energy          the GPU's joules over the prefill (NVML's counter before and after), NaN joules where NVML
 *                        is absent ({@link LlamaSession#energyMeter()} says why)
 */
public record PrefillProfile(PhaseSeconds phases, Map<LinearKernel, Double> kernels, long peakDeviceBytes,
                             EnergyMeter.Energy energy) {
    public PrefillProfile {
        kernels = Map.copyOf(kernels);
    }

    /**
     * Device seconds of the linear layers (QKV, output and MLP GEMMs with their norms), the attention kernels, a
     * sparse attention's estimation and index building, and the KV store (an 8-bit cache's quantization). The
     * chunked dense prefill of a bf16 cache marks its linear layers and attention per chunk and layer, and has no
     * separate estimation or KV store.
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
