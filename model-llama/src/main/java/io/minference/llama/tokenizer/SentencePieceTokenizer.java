package io.minference.llama.tokenizer;

import java.nio.file.Path;

/** The llama2.c SentencePiece-style tokenizer (tokenizer.bin, tok512.bin). (Owned by the tokenizer work; stub.) */
public final class SentencePieceTokenizer implements Tokenizer {
    /** Reads a llama2.c tokenizer file (max token length, then per token: float score, int length, bytes). */
    public static SentencePieceTokenizer fromLlama2cFile(Path file, int vocabSize) {
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
