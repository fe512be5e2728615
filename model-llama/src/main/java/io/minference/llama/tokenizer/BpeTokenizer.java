package io.minference.llama.tokenizer;

import java.nio.file.Path;
import java.util.List;

/** LLaMA-3 byte-level BPE. (Owned by the tokenizer work; stub.) */
public final class BpeTokenizer implements Tokenizer {
    /** Reads a Hugging Face tokenizer.json. */
    public static BpeTokenizer fromTokenizerJson(Path file) {
        throw new UnsupportedOperationException("stub");
    }

    /**
     * Builds from GGUF tokenizer.ggml.* metadata.
     *
     * @param tokens     tokenizer.ggml.tokens
     * @param merges     tokenizer.ggml.merges ("a b" per entry)
     * @param tokenTypes tokenizer.ggml.token_type (1 normal, 3 control, 4 user-defined, 6 byte...), or null
     * @param bos        tokenizer.ggml.bos_token_id
     * @param eos        tokenizer.ggml.eos_token_id
     */
    public static BpeTokenizer fromVocabulary(List<String> tokens, List<String> merges, int[] tokenTypes, int bos,
                                              int eos) {
        throw new UnsupportedOperationException("stub");
    }

    @Override public int[] encode(String text) { throw new UnsupportedOperationException("stub"); }
    @Override public String decode(int[] tokens) { throw new UnsupportedOperationException("stub"); }
    @Override public StreamingDecoder streamingDecoder() { throw new UnsupportedOperationException("stub"); }
    @Override public int vocabSize() { throw new UnsupportedOperationException("stub"); }
    @Override public int bos() { throw new UnsupportedOperationException("stub"); }
    @Override public int eos() { throw new UnsupportedOperationException("stub"); }
    @Override public boolean isStopToken(int token) { throw new UnsupportedOperationException("stub"); }
    @Override public int[] encodeChat(String userMessage) { throw new UnsupportedOperationException("stub"); }
}
