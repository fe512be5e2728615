package io.minference.llama.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.IntStream;

/**
 * The synthetic models' tokenizer: ids 0..255 are the bytes of the UTF-8 text, then BOS (256) and EOS (257), whose
 * texts are {@code <s>} and {@code </s>}. A synthetic model whose vocabulary is larger (synthetic:llama3-8b has
 * 128,256 ids) can generate ids that stand for no byte: they decode to {@code <t123>}, so that a demo or a
 * generation on such a model shows what it produced instead of failing.
 */
public final class ByteTokenizer implements Tokenizer {
    private static final int BOS = 256;
    private static final int EOS = 257;
    private static final String BOS_TEXT = "<s>";
    private static final String EOS_TEXT = "</s>";

    private final AddedTokens specialTokens;
    private final int modelVocabulary;

    /** For a model of exactly the byte vocabulary. */
    public ByteTokenizer() {
        this(EOS + 1);
    }

    /** For a model of {@code modelVocabulary} ids, at least the byte vocabulary's 258. */
    public ByteTokenizer(int modelVocabulary) {
        if (modelVocabulary < EOS + 1) {
            throw new IllegalArgumentException("a byte-tokenized model needs at least " + (EOS + 1) + " ids, not "
                    + modelVocabulary);
        }
        this.modelVocabulary = modelVocabulary;
        String[] contents = new String[EOS + 1];
        contents[BOS] = BOS_TEXT;
        contents[EOS] = EOS_TEXT;
        specialTokens = new AddedTokens(contents);
    }

    @Override
    public int[] encode(String text) {
        IntStream.Builder out = IntStream.builder();
        for (AddedTokens.Segment segment : specialTokens.split(text)) {
            if (segment.id() >= 0) {
                out.add(segment.id());
            } else {
                for (byte b : segment.text().getBytes(StandardCharsets.UTF_8)) out.add(b & 0xFF);
            }
        }
        return out.build().toArray();
    }

    @Override
    public String decode(int[] tokens) {
        var bytes = new ByteArrayOutputStream();
        for (int token : tokens) bytes.writeBytes(bytesOf(token));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private byte[] bytesOf(int token) {
        return switch (token) {
            case BOS -> BOS_TEXT.getBytes(StandardCharsets.UTF_8);
            case EOS -> EOS_TEXT.getBytes(StandardCharsets.UTF_8);
            default -> {
                if (token < 0 || token >= modelVocabulary) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.."
                            + (modelVocabulary - 1) + ")");
                }
                yield token <= 255 ? new byte[] {(byte) token}
                        : ("<t" + token + ">").getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new Utf8StreamingDecoder((previous, token) -> bytesOf(token));
    }

    @Override
    public int vocabSize() {
        return EOS + 1;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public boolean isStopToken(int token) {
        return token == EOS;
    }

    /** The synthetic models have no chat template: BOS, then the message's bytes. */
    @Override
    public int[] encodeChat(String userMessage) {
        int[] body = encode(userMessage);
        int[] out = new int[body.length + 1];
        out[0] = BOS;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }
}
