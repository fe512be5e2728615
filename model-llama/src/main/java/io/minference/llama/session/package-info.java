/**
 * The session API: one model opened on one backend (CPU or CUDA), the single seam through which the CLI, the server,
 * the demo, the benchmarks, the evaluations and framework integrations run the model.
 *
 * <p>{@link io.minference.llama.session.LlamaSession} opens the model with an
 * {@link io.minference.llama.session.AttentionPlan} (dense, or a sparse prefill; and the KV cache's format, bf16,
 * or 8-bit codes (fp8: e4m3, int8) read by decode), and offers:
 * <ul>
 *   <li>{@link io.minference.llama.session.LlamaSession#generate}: prefill, decode and sampling with stop tokens
 *       and stop sequences, streamed to a {@link io.minference.llama.session.GenerationListener};</li>
 *   <li>{@link io.minference.llama.session.LlamaSession#prefill} and
 *       {@link io.minference.llama.session.LlamaSession#newSequence}: a prefill that returns the logits of the last
 *       N positions with its time and index density (and, on a GPU asked
 *       {@link io.minference.llama.session.PrefillOptions#profiling()}, its phases' device time, peak memory and
 *       energy), then decode steps;</li>
 *   <li>{@link io.minference.llama.session.LlamaSession#score}: the likelihood of a continuation;</li>
 *   <li>{@link io.minference.llama.session.LlamaSession#observe}: each layer's queries and keys, for pattern
 *       pictures and recall.</li>
 * </ul>
 * The backends differ only inside the session: the CPU runs {@link io.minference.llama.forward.LlamaForward}, a
 * GPU {@link io.minference.llama.gpu.GpuLlamaForward} (observation always runs on the CPU, from the host weights).
 */
package io.minference.llama.session;
