package io.minference.llama.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The llama2.c tokenizer (tokenizer.bin, tok512.bin), encoding as llama2.c's run.c does: a dummy-prefix space, one
 * piece per code point (or its UTF-8 bytes as {@code <0xXX>} tokens, id = byte + 3, when the vocabulary lacks it),
 * then repeatedly the adjacent pair whose merged piece has the best score is merged. The text of control tokens is
 * not recognised in the input, as in SentencePiece itself.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int BYTE_FALLBACK_OFFSET = 3;

    private final String[] pieces;
    private final int[] scoreRank;
    private final byte[][] pieceBytes;
    private final Map<String, Integer> ids = new HashMap<>();
    private final PairMerger.Rule mergeRule = this::lookupMerge;

    private SentencePieceTokenizer(Path file, Llama2cTokenizerFile.Contents contents) {
        pieces = contents.pieces();
        if (pieces.length < BYTE_FALLBACK_OFFSET + 256) {
            throw new IllegalArgumentException(file + ": " + pieces.length + " tokens cannot hold the 3 control "
                    + "tokens and 256 byte tokens llama2.c expects");
        }
        pieceBytes = new byte[pieces.length][];
        for (int id = 0; id < pieces.length; id++) {
            ids.putIfAbsent(pieces[id], id);
            pieceBytes[id] = bytesOfPiece(pieces[id]);
        }
        scoreRank = rankScores(contents.scores());
    }

    /** Reads a llama2.c tokenizer file (max token length, then per token: float score, int length, bytes). */
    public static SentencePieceTokenizer fromLlama2cFile(Path file, int vocabSize) {
        return new SentencePieceTokenizer(file, Llama2cTokenizerFile.read(file, vocabSize));
    }

    /** {@code <0xXX>} pieces stand for one raw byte; the others for their own bytes. */
    private static byte[] bytesOfPiece(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            int hi = Character.digit(piece.charAt(3), 16);
            int lo = Character.digit(piece.charAt(4), 16);
            if (hi >= 0 && lo >= 0) return new byte[] {(byte) (hi << 4 | lo)};
        }
        return piece.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Dense ranks of the scores, best first; equal scores share a rank, so ties go to the leftmost pair. */
    private static int[] rankScores(float[] scores) {
        Integer[] order = new Integer[scores.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingDouble((Integer id) -> scores[id]).reversed());
        int[] rank = new int[scores.length];
        int current = 0;
        for (int i = 0; i < order.length; i++) {
            if (i > 0 && scores[order[i]] != scores[order[i - 1]]) current++;
            rank[order[i]] = current;
        }
        return rank;
    }

    private long lookupMerge(int left, int right) {
        Integer merged = ids.get(pieces[left] + pieces[right]);
        return merged == null ? PairMerger.NO_MERGE : PairMerger.pack(scoreRank[merged], merged);
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) return new int[0];
        IntStream.Builder symbols = IntStream.builder();
        addPiece(symbols, " ");
        text.codePoints().forEach(cp -> addPiece(symbols, Character.toString(cp)));
        return PairMerger.merge(symbols.build().toArray(), mergeRule);
    }

    private void addPiece(IntStream.Builder symbols, String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        Integer id = ids.get(new String(utf8, StandardCharsets.ISO_8859_1));
        if (id != null) {
            symbols.add(id);
        } else {
            for (byte b : utf8) symbols.add((b & 0xFF) + BYTE_FALLBACK_OFFSET);
        }
    }

    /**
     * Decodes as if the sequence followed BOS: its first piece loses the dummy-prefix space that {@link #encode}
     * adds (as SentencePiece's decoder does), and so does a piece right after a BOS inside it (as llama2.c does).
     */
    @Override
    public String decode(int[] tokens) {
        var bytes = new ByteArrayOutputStream();
        int previous = BOS;
        for (int token : tokens) {
            bytes.writeBytes(bytesOf(previous, token));
            previous = token;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private byte[] bytesOf(int previous, int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary (0.."
                    + (pieces.length - 1) + ")");
        }
        byte[] bytes = pieceBytes[token];
        if (previous == BOS && bytes.length > 0 && bytes[0] == ' ' && pieces[token].length() == bytes.length) {
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes;
    }

    /** A stream is decoded like {@link #decode}: as if it followed BOS. */
    @Override
    public StreamingDecoder streamingDecoder() {
        var decoder = new Utf8StreamingDecoder(this::bytesOf);
        decoder.assumePrevious(BOS);
        return decoder;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    /** EOS, and BOS too: in llama2.c's TinyStories models BOS separates stories, and run.c stops on it. */
    @Override
    public boolean isStopToken(int token) {
        return token == EOS || token == BOS;
    }

    /** llama2.c's chat format (that of Llama-2-chat): BOS, then {@code [INST] message [/INST]}. */
    @Override
    public int[] encodeChat(String userMessage) {
        int[] body = encode("[INST] " + userMessage + " [/INST]");
        int[] out = new int[body.length + 1];
        out[0] = BOS;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }
}
