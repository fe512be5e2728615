/**
 * The LLaMA forward pass on a CUDA device: weights uploaded as bf16 ({@link io.minference.llama.gpu.GpuLlamaWeights},
 * Q/K/V and gate/up fused so that each is one GEMM), a bf16 KV cache and chunked prefill plus single-token decode
 * replayed from a CUDA graph, a layer-major whole-prompt prefill for sparse attention, and greedy or top-p token
 * choice on the device ({@link io.minference.llama.gpu.GpuLlamaForward}) over the kernels of {@code io.minference.kernels.transformer},
 * {@code io.minference.kernels.flash} and cuBLASLt. It computes the same function as
 * {@link io.minference.llama.forward.LlamaForward}, with bf16 weights and bf16 activations between kernels (the
 * residual stream and the logits stay f32).
 */
package io.minference.llama.gpu;
