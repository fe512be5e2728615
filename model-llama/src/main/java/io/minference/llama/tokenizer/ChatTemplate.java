package io.minference.llama.tokenizer;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Turns chat messages into prompt ids. A vocabulary with LLaMA-3's header and end-of-turn tokens gets LLaMA-3's
 * template for any conversation; a single user message gets the tokenizer's own chat format; anything else (a model
 * without a chat template, such as the synthetic ones or the pass-key model) gets BOS and the messages' contents
 * separated by blank lines, so that a plain language model still continues the conversation's text. The
 * OpenAI-compatible server's chat completions and the LangChain4j chat models both build their prompts here.
 */
public final class ChatTemplate {
    private static final String START_HEADER = "<|start_header_id|>";
    private static final String END_HEADER = "<|end_header_id|>";
    private static final String END_OF_TURN = "<|eot_id|>";

    /** One message of a conversation. @param role system, user or assistant */
    public record ChatMessage(String role, String content) {
    }

    private ChatTemplate() {
    }

    /** The prompt ids of a conversation, BOS first, ending where the assistant's answer begins. */
    public static int[] encode(Tokenizer tokenizer, List<ChatMessage> messages) {
        int startHeader = special(tokenizer, START_HEADER);
        int endHeader = special(tokenizer, END_HEADER);
        int endOfTurn = special(tokenizer, END_OF_TURN);
        if (startHeader >= 0 && endHeader >= 0 && endOfTurn >= 0) {
            IntStream.Builder out = IntStream.builder();
            out.add(tokenizer.bos());
            for (ChatMessage m : messages) {
                header(tokenizer, out, startHeader, endHeader, m.role());
                for (int id : tokenizer.encode(m.content().strip())) out.add(id);
                out.add(endOfTurn);
            }
            header(tokenizer, out, startHeader, endHeader, "assistant");
            return out.build().toArray();
        }
        if (messages.size() == 1 && messages.getFirst().role().equals("user")) {
            try {
                return tokenizer.encodeChat(messages.getFirst().content());
            } catch (IllegalStateException notAChatModel) {
                // falls through to the plain text below
            }
        }
        String text = String.join("\n\n", messages.stream().map(ChatMessage::content).toList());
        return withBos(tokenizer.bos(), tokenizer.encode(text));
    }

    /** {@code ids} with {@code bos} in front. */
    public static int[] withBos(int bos, int[] ids) {
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    private static void header(Tokenizer tokenizer, IntStream.Builder out, int start, int end, String role) {
        out.add(start);
        for (int id : tokenizer.encode(role)) out.add(id);
        out.add(end);
        for (int id : tokenizer.encode("\n\n")) out.add(id);
    }

    /** The id of a special token's text, or -1 when the vocabulary has no such single token. */
    private static int special(Tokenizer tokenizer, String text) {
        int[] ids = tokenizer.encode(text);
        return ids.length == 1 ? ids[0] : -1;
    }
}
