/**
 * GGUF (version 2 and 3) model files: a bounds-checked reader over a memory-mapped file, typed metadata, tensor
 * infos, dequantization of the supported tensor types to F32, and the llama.cpp naming of LLaMA weights. Also the
 * way back: {@link io.minference.llama.gguf.GgufFileWriter} writes GGUF files, {@link io.minference.llama.gguf.Quantizer}
 * converts F32 values to a quantized type (Q8_0 today; a new type is one Quantizer and one line in its forType), and
 * {@link io.minference.llama.gguf.GgufQuantization} converts a whole model's matrices, as llama.cpp's quantize does.
 */
package io.minference.llama.gguf;
