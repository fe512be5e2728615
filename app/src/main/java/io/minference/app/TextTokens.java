package io.minference.app;

import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** The first tokens of a text file (plain or compressed, as --prompt-file reads), BOS first. */
final class TextTokens {
    /** Generous characters per token, so that only the needed head of a long text is tokenized. */
    private static final int CHARS_PER_TOKEN = 12;

    private TextTokens() {
    }

    /** BOS and the text's first {@code count - 1} tokens; refused when the text holds fewer. */
    static int[] first(Tokenizer tokenizer, Path file, int count, String what) throws IOException {
        String text = PromptFiles.read(file);
        String head = text.substring(0, (int) Math.min(text.length(), (long) count * CHARS_PER_TOKEN));
        int[] ids = tokenizer.encode(head);
        if (ids.length < count - 1) {
            throw new IllegalArgumentException(what + " " + file + " holds " + ids.length + " tokens, fewer than the "
                    + (count - 1) + " needed (BOS makes " + count + ")");
        }
        int[] withBos = new int[count];
        withBos[0] = tokenizer.bos();
        System.arraycopy(ids, 0, withBos, 1, count - 1);
        return withBos;
    }

    static int[] slice(int[] ids, int from, int to) {
        return Arrays.copyOfRange(ids, from, to);
    }
}
