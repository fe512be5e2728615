/**
 * The OpenAI-compatible HTTP server and the web demo of dense against sparse prefill.
 *
 * <p>{@link io.minference.app.server.TextEngine} is what the server asks for text; {@link
 * io.minference.app.server.LlamaEngine} answers with the model's {@code Generator}, and {@link
 * io.minference.app.server.AttentionModes} is the one place that says which attention modes this build can run.
 * {@link io.minference.app.server.ApiServer} serves {@code /v1/models}, {@code /v1/completions},
 * {@code /v1/chat/completions} (with SSE streaming) and {@code /health} on Jetty (its core API, handlers on virtual
 * threads), and, for the demo, the page from the jar and its helper endpoints. {@link
 * io.minference.app.server.ServerLimits} holds every bound that keeps one client from holding the server, and
 * {@link io.minference.app.server.GenerationGate} runs generations, one at a time, on one platform thread.
 */
package io.minference.app.server;
