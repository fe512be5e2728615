/**
 * The transformer's GPU kernels for the LLaMA forward pass, written in the PTX DSL: embedding gather, RMSNorm with
 * the cast to bf16, RoPE fused with the KV-cache write, SwiGLU, argmax over logits, temperature + top-p sampling ({@code TopPSample}, exact against its twin
 * {@code CpuTopPSample}), and the on-device generator of synthetic weights.
 * <p>Conventions (those of the GPU forward pass): the residual stream is f32 [T, dim], which the output and down
 * projections accumulate into themselves (cuBLASLt with beta = 1, so no residual add kernel); GEMM inputs are bf16; Q is
 * bf16 [T, numHeads, headDim]; each layer's KV cache is bf16 [capacity, numKvHeads, headDim] for K and for V. Each
 * kernel's Javadoc gives its launch contract (parameters in order, grid, block, alignment), and a {@code launch}
 * method that checks shapes against it before queueing the kernel. Every kernel has a CPU twin, from
 * {@link io.minference.kernels.cpu} or a {@code Cpu...} class here, that its GPU test compares against.
 */
package io.minference.kernels.transformer;
