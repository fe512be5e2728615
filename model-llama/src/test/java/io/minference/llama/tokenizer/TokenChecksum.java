package io.minference.llama.tokenizer;

/** A position-sensitive checksum of a token sequence: h = 31 h + id over 64-bit wrap-around arithmetic. */
final class TokenChecksum {
    private TokenChecksum() {
    }

    static long of(int[] ids) {
        long h = 0;
        for (int id : ids) h = 31 * h + id;
        return h;
    }
}
