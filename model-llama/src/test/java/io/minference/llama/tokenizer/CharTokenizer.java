package io.minference.llama.tokenizer;

import java.util.Set;

/** A test tokenizer: ids are characters offset by 32 (modulo the vocabulary), BOS 1, EOS 2, the given stop set. */
public record CharTokenizer(int vocabSize, Set<Integer> stops) implements Tokenizer {
    @Override
    public int[] encode(String text) {
        return text.chars().map(c -> Math.floorMod(c - 32, vocabSize)).toArray();
    }

    @Override
    public String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) sb.append((char) (t + 32));
        return sb.toString();
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder() {
            @Override
            public String next(int token) {
                return decode(new int[] {token});
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    @Override
    public int bos() {
        return 1;
    }

    @Override
    public int eos() {
        return 2;
    }

    @Override
    public boolean isStopToken(int token) {
        return stops.contains(token);
    }

    @Override
    public int[] encodeChat(String userMessage) {
        return encode(userMessage);
    }
}
