package io.minference.bench.gpu;

/** One measured benchmark figure, e.g. 2950 GB/s. */
public record Figure(String name, double value, String unit) {
}
