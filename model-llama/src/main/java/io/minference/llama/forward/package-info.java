/**
 * The LLaMA forward pass on the CPU: prompts go through the transformer in blocks of tokens (matrix-matrix products
 * on all cores), or layer-major when a sparse prefill must see each layer's prompt whole, and generated tokens one
 * at a time, with keys and values kept in a per-layer {@link io.minference.llama.forward.KvCache}.
 * {@link io.minference.llama.forward.ForwardPass} is what the CPU and GPU passes share; callers reach both through
 * {@link io.minference.llama.session.LlamaSession}.
 */
package io.minference.llama.forward;
