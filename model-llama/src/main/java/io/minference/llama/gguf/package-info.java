/**
 * GGUF (version 2 and 3) model files: a bounds-checked reader over a memory-mapped file, typed metadata, tensor
 * infos, dequantization of the supported tensor types to F32, and the llama.cpp naming of LLaMA weights.
 */
package io.minference.llama.gguf;
