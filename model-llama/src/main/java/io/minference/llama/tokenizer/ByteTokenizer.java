package io.minference.llama.tokenizer;

/** The synthetic models' tokenizer: 256 byte tokens, then BOS (256) and EOS (257). (Owned by the tokenizer work; stub.) */
public final class ByteTokenizer implements Tokenizer {
    @Override public int[] encode(String text) { throw new UnsupportedOperationException("stub"); }
    @Override public String decode(int[] tokens) { throw new UnsupportedOperationException("stub"); }
    @Override public StreamingDecoder streamingDecoder() { throw new UnsupportedOperationException("stub"); }
    @Override public int vocabSize() { throw new UnsupportedOperationException("stub"); }
    @Override public int bos() { throw new UnsupportedOperationException("stub"); }
    @Override public int eos() { throw new UnsupportedOperationException("stub"); }
    @Override public boolean isStopToken(int token) { throw new UnsupportedOperationException("stub"); }
    @Override public int[] encodeChat(String userMessage) { throw new UnsupportedOperationException("stub"); }
}
