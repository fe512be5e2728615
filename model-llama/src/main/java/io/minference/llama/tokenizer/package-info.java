/**
 * Text to token ids and back: LLaMA-3 byte-level BPE (from a Hugging Face tokenizer.json or GGUF metadata), the
 * llama2.c SentencePiece-style tokenizer (tokenizer.bin), and the synthetic models' byte tokenizer, all behind
 * {@link io.minference.llama.tokenizer.Tokenizer}.
 */
package io.minference.llama.tokenizer;
