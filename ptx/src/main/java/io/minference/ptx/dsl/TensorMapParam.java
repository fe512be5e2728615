package io.minference.ptx.dsl;

/**
 * A TMA tensor map kernel parameter ({@link KernelBuilder#tensorMapParam}), held as the generic address of the
 * parameter's 128 bytes: {@code cp.async.bulk.tensor} reads the map from there.
 *
 * @param name    the parameter's name
 * @param address its generic address
 */
public record TensorMapParam(String name, U64 address) {
}
