package io.minference.llama.gpu;

import java.util.Map;

/**
 * One decode step's device time by {@link DecodeKind}, from CUDA events around its launches queued one by one (not
 * replayed from the graph: the gaps between launches fall into the kinds they follow), beside the bytes each kind
 * must read from device memory at least, for its floor.
 *
 * @param next      the greedy choice of the next token, made on the device after the step
 * @param millis    device milliseconds per kind (every kind present, 0 where none ran)
 * @param readBytes bytes each kind reads at least: its weights of every layer, or the cache's first {@code length}
 *                  positions of every layer for the attention; 0 for the kinds whose reads are a few activations
 */
public record DecodeBreakdown(int next, Map<DecodeKind, Double> millis, Map<DecodeKind, Long> readBytes) {
    public DecodeBreakdown {
        millis = Map.copyOf(millis);
        readBytes = Map.copyOf(readBytes);
    }

    public double totalMillis() {
        return millis.values().stream().mapToDouble(Double::doubleValue).sum();
    }
}
