package io.minference.llama.tokenizer;

/**
 * Text to token ids and back. Implementations: LLaMA-3 byte-level BPE, the llama2.c SentencePiece-style tokenizer,
 * and the synthetic models' byte tokenizer.
 */
public interface Tokenizer {

    /**
     * Encodes text without adding BOS. The text of a special token (such as {@code <|begin_of_text|>}) inside
     * {@code text} becomes that token's id, as Hugging Face tokenizers do.
     */
    int[] encode(String text);

    /** Decodes a whole sequence of ids to text; special tokens are rendered as their text. */
    String decode(int[] tokens);

    /**
     * A decoder for streaming: it takes one id at a time and returns the text that is complete so far, holding back
     * the bytes of a UTF-8 character that later tokens finish.
     */
    StreamingDecoder streamingDecoder();

    int vocabSize();

    /** Beginning-of-sequence id. */
    int bos();

    /** End-of-sequence id. */
    int eos();

    /** Whether generation stops when the model produces {@code token} (EOS, and for LLaMA-3 also <|eot_id|>). */
    boolean isStopToken(int token);

    /** Encodes {@code prompt} for a chat model: the model's chat template around one user turn, BOS included. */
    int[] encodeChat(String userMessage);

    /** Turns ids into text incrementally. */
    interface StreamingDecoder {
        /** Adds one id and returns the text it completes (possibly empty). */
        String next(int token);

        /** Returns any held-back bytes as text (malformed bytes become U+FFFD). */
        String flush();
    }
}
