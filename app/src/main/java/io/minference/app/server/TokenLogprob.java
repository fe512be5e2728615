package io.minference.app.server;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A generated token's log-probability, in the terms OpenAI's responses use: the token's text, its UTF-8 bytes (a
 * token may hold part of a character, whose text is then U+FFFD), and the most likely alternatives (each without
 * alternatives of its own).
 */
record TokenLogprob(String token, double logprob, byte[] bytes, List<TokenLogprob> top) {
    TokenLogprob {
        top = List.copyOf(top);
    }

    static TokenLogprob of(String token, double logprob, List<TokenLogprob> top) {
        return new TokenLogprob(token, logprob, token.getBytes(StandardCharsets.UTF_8), top);
    }
}
