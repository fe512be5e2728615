/**
 * Generation's building blocks: sampling options, stop sequences matched on text, results, sparse prefill plans,
 * pass-key prompts, and {@link io.minference.llama.generate.Generator}, the older id-in, id-out entry point over
 * {@link io.minference.llama.session.LlamaSession}.
 */
package io.minference.llama.generate;
