/**
 * Choosing the next token from logits: greedy, or random at a temperature with optional nucleus (top-p)
 * truncation, reproducible from a seed.
 */
package io.minference.llama.sampling;
