/**
 * CPU twins of the transformer's kernels (RMSNorm, RoPE, SwiGLU, softmax, residual add, embedding gather) over F32
 * host tensors, vectorized with the Vector API where the work is large enough to matter. They are the CPU path of
 * the forward pass and the reference that the GPU kernels are checked against. Each works on the first {@code rows}
 * rows of its tensors, so that buffers sized for a full prefill block also serve a shorter one.
 */
package io.minference.kernels.cpu;
