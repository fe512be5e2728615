/**
 * Synthetic LLaMA models: real shapes (tiny, Llama-3.2-1B, Llama-3-8B, or a YAML file) with weights computed by a
 * counter-based generator, for benchmarks and tests that need no model file. The generator is a pure function of
 * (seed, tensor name, element index) built from 64-bit integer operations, so a GPU kernel can produce the same
 * weights on the device.
 */
package io.minference.llama.synthetic;
