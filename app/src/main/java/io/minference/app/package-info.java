/**
 * The minference command line (picocli): generation, tokenization, model information, benchmarks, pattern search,
 * evaluations, and the server and demo commands (the server itself is in {@code io.minference.app.server}). Every
 * command runs the model through {@link io.minference.llama.session.LlamaSession}.
 */
package io.minference.app;
