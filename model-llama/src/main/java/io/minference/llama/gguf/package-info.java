/**
 * GGUF (version 2 and 3) model files: a bounds-checked reader over a memory-mapped file, typed metadata, tensor
 * infos, tensors handed out in place in their stored type (or converted to F32 by the runtime's decoders,
 * {@link io.minference.runtime.quant.BlockDecoder}), and the llama.cpp naming of LLaMA weights. Also the
 * way back: {@link io.minference.llama.gguf.GgufFileWriter} writes GGUF files, {@link io.minference.llama.gguf.Quantizer}
 * converts F32 values to a quantized type (Q8_0 and Q4_0 today; a new type is one Quantizer and one line in its forType), and
 * {@link io.minference.llama.gguf.GgufQuantization} converts a whole model's matrices, as llama.cpp's quantize does.
 */
package io.minference.llama.gguf;
