/**
 * The LLaMA forward pass on the CPU: prompts go through the transformer in blocks of tokens (matrix-matrix products
 * on all cores), generated tokens one at a time, with keys and values kept in a per-layer {@link
 * io.minference.llama.forward.KvCache}.
 */
package io.minference.llama.forward;
