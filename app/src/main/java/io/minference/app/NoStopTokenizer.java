package io.minference.app;

import io.minference.llama.tokenizer.Tokenizer;

/** A tokenizer that never stops generation, so that a benchmark always times the decode steps it asked for. */
record NoStopTokenizer(Tokenizer inner) implements Tokenizer {
    @Override
    public int[] encode(String text) {
        return inner.encode(text);
    }

    @Override
    public String decode(int[] tokens) {
        return inner.decode(tokens);
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return inner.streamingDecoder();
    }

    @Override
    public int vocabSize() {
        return inner.vocabSize();
    }

    @Override
    public int bos() {
        return inner.bos();
    }

    @Override
    public int eos() {
        return inner.eos();
    }

    @Override
    public boolean isStopToken(int token) {
        return false;
    }

    @Override
    public int[] encodeChat(String userMessage) {
        return inner.encodeChat(userMessage);
    }
}
