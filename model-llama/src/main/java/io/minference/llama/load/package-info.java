/**
 * Turns a --model value into a loaded model: dispatches between GGUF files, llama2.c checkpoints and synthetic
 * shapes, picks the tokenizer, and reports what a model holds without loading it.
 */
package io.minference.llama.load;
