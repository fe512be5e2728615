package io.minference.llama.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * LLaMA-3's byte-level BPE: added tokens are cut out of the text first, the rest is split into words by LLaMA-3's
 * regex, each word's UTF-8 bytes are spelled in GPT-2's byte alphabet, and merges join adjacent symbols by rank.
 */
public final class BpeTokenizer implements Tokenizer {
    /** GGUF token types (llama.cpp's llama_token_type) that mark added tokens. */
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    /** Words are cached while the cache is smaller than this; then it starts afresh. */
    private static final int CACHE_LIMIT = 100_000;
    private static final int MAX_CACHED_WORD = 64;

    private final String source;
    private final String[] tokens;
    private final boolean[] added;
    private final byte[][] tokenBytes;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int[] byteTokens = new int[256];
    private final BpeMerges merges;
    private final boolean ignoreMerges;
    private final AddedTokens addedTokens;
    private final int bos;
    private final int eos;
    private final int endOfTurn;
    private final int[] stopTokens;
    private final int startHeader;
    private final int endHeader;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    private BpeTokenizer(BpeVocabulary vocabulary, int bos, int eos) {
        this.source = vocabulary.source();
        this.tokens = vocabulary.tokens();
        this.added = vocabulary.addedTokens();
        this.ignoreMerges = vocabulary.ignoreMerges();
        this.bos = checkedSpecialId("BOS", bos);
        this.eos = checkedSpecialId("EOS", eos);

        String[] addedContents = new String[tokens.length];
        tokenBytes = new byte[tokens.length][];
        for (int id = 0; id < tokens.length; id++) {
            String token = tokens[id];
            if (token == null) continue;
            if (added[id]) {
                addedContents[id] = token;
                tokenBytes[id] = token.getBytes(StandardCharsets.UTF_8);
            } else {
                ids.putIfAbsent(token, id);
                tokenBytes[id] = ByteLevelAlphabet.decode(token);
            }
        }
        addedTokens = new AddedTokens(addedContents);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(ByteLevelAlphabet.charOf((byte) b)));
            byteTokens[b] = id == null ? -1 : id;
        }
        merges = mergeTable(vocabulary.merges());
        endOfTurn = addedId("<|eot_id|>");
        stopTokens = IntStream.of(this.eos, addedId("<|end_of_text|>"), endOfTurn).filter(id -> id >= 0).toArray();
        startHeader = addedId("<|start_header_id|>");
        endHeader = addedId("<|end_header_id|>");
    }

    /** Reads a Hugging Face tokenizer.json; BOS and EOS are LLaMA-3's, or those its post-processor adds. */
    public static BpeTokenizer fromTokenizerJson(Path file) {
        BpeVocabulary vocabulary = TokenizerJsonReader.read(file);
        if (vocabulary.bos() < 0 || vocabulary.eos() < 0) {
            throw new IllegalArgumentException(file + ": names no BOS or EOS token; pass their ids explicitly");
        }
        return new BpeTokenizer(vocabulary, vocabulary.bos(), vocabulary.eos());
    }

    /** Reads a Hugging Face tokenizer.json, with BOS and EOS given by the model (such as GGUF metadata). */
    public static BpeTokenizer fromTokenizerJson(Path file, int bos, int eos) {
        return new BpeTokenizer(TokenizerJsonReader.read(file), bos, eos);
    }

    /**
     * Builds from GGUF tokenizer.ggml.* metadata. Words that are whole tokens skip the merges, as llama.cpp does
     * for LLaMA-3 vocabularies (and Hugging Face's ignore_merges).
     *
     * @param tokens     tokenizer.ggml.tokens
     * @param merges     tokenizer.ggml.merges ("a b" per entry)
     * @param tokenTypes tokenizer.ggml.token_type (1 normal, 3 control, 4 user-defined, 6 byte...), or null
     * @param bos        tokenizer.ggml.bos_token_id
     * @param eos        tokenizer.ggml.eos_token_id
     */
    public static BpeTokenizer fromVocabulary(List<String> tokens, List<String> merges, int[] tokenTypes, int bos,
                                              int eos) {
        String source = "GGUF tokenizer metadata";
        if (tokenTypes != null && tokenTypes.length != tokens.size()) {
            throw new IllegalArgumentException(source + ": " + tokenTypes.length + " token types for "
                    + tokens.size() + " tokens");
        }
        String[] tokenArray = tokens.toArray(String[]::new);
        boolean[] isAdded = new boolean[tokenArray.length];
        for (int id = 0; id < tokenArray.length; id++) {
            if (tokenArray[id] == null) throw new IllegalArgumentException(source + ": token " + id + " is null");
            isAdded[id] = tokenTypes != null && (tokenTypes[id] == CONTROL || tokenTypes[id] == USER_DEFINED);
        }
        List<BpeVocabulary.Merge> mergeList = new ArrayList<>(merges.size());
        for (String merge : merges) mergeList.add(TokenizerJsonReader.parseMerge(merge, source));
        return new BpeTokenizer(new BpeVocabulary(source, tokenArray, isAdded, mergeList, true, bos, eos), bos, eos);
    }

    private BpeMerges mergeTable(List<BpeVocabulary.Merge> mergeList) {
        var table = new BpeMerges(mergeList.size());
        for (int rank = 0; rank < mergeList.size(); rank++) {
            BpeVocabulary.Merge m = mergeList.get(rank);
            Integer left = ids.get(m.left());
            Integer right = ids.get(m.right());
            Integer merged = ids.get(m.left() + m.right());
            if (left == null || right == null || merged == null) {
                throw new IllegalArgumentException(source + ": merge " + (rank + 1) + " (\"" + m.left() + "\" + \""
                        + m.right() + "\") names a token that is not in the vocabulary");
            }
            table.add(left, right, rank, merged);
        }
        return table;
    }

    private int checkedSpecialId(String what, int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new IllegalArgumentException(source + ": " + what + " id " + id + " is not a token of the vocabulary");
        }
        return id;
    }

    private int addedId(String content) {
        for (int id = 0; id < tokens.length; id++) {
            if (added[id] && content.equals(tokens[id])) return id;
        }
        return -1;
    }

    @Override
    public int[] encode(String text) {
        IntStream.Builder out = IntStream.builder();
        for (AddedTokens.Segment segment : addedTokens.split(text)) {
            if (segment.id() >= 0) {
                out.add(segment.id());
            } else {
                Llama3PreTokenizer.split(segment.text(), word -> {
                    for (int id : encodeWord(word)) out.add(id);
                });
            }
        }
        return out.build().toArray();
    }

    private int[] encodeWord(String word) {
        String spelled = ByteLevelAlphabet.encode(word.getBytes(StandardCharsets.UTF_8));
        boolean cacheable = spelled.length() <= MAX_CACHED_WORD;
        if (cacheable) {
            int[] cached = wordCache.get(spelled);
            if (cached != null) return cached;
        }
        int[] result = mergeWord(spelled);
        if (cacheable) {
            if (wordCache.size() >= CACHE_LIMIT) wordCache.clear();
            wordCache.put(spelled, result);
        }
        return result;
    }

    private int[] mergeWord(String spelled) {
        if (ignoreMerges) {
            Integer whole = ids.get(spelled);
            if (whole != null) return new int[] {whole};
        }
        int[] symbols = new int[spelled.length()];
        for (int i = 0; i < symbols.length; i++) {
            int b = ByteLevelAlphabet.byteOf(spelled.charAt(i));
            symbols[i] = byteTokens[b];
            if (symbols[i] < 0) {
                throw new IllegalStateException(source + ": the vocabulary has no token for byte 0x"
                        + Integer.toHexString(b));
            }
        }
        return PairMerger.merge(symbols, merges);
    }

    @Override
    public String decode(int[] tokenIds) {
        var bytes = new ByteArrayOutputStream();
        for (int id : tokenIds) bytes.writeBytes(bytesOf(id));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private byte[] bytesOf(int id) {
        if (id < 0 || id >= tokens.length || tokenBytes[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + source);
        }
        return tokenBytes[id];
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new Utf8StreamingDecoder((previous, token) -> bytesOf(token));
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean isStopToken(int token) {
        for (int stop : stopTokens) {
            if (token == stop) return true;
        }
        return false;
    }

    /**
     * LLaMA-3's chat template for one user turn, ending where the assistant's answer begins. The message is
     * stripped of surrounding whitespace, as both Meta's reference ChatFormat and the Hugging Face template do.
     */
    @Override
    public int[] encodeChat(String userMessage) {
        if (startHeader < 0 || endHeader < 0 || endOfTurn < 0) {
            throw new IllegalStateException("the model's vocabulary (" + source + ") has no chat template tokens "
                    + "(<|start_header_id|>, <|end_header_id|>, <|eot_id|>): it is not a chat model");
        }
        IntStream.Builder out = IntStream.builder();
        out.add(bos);
        header(out, "user");
        for (int id : encode(userMessage.strip())) out.add(id);
        out.add(endOfTurn);
        header(out, "assistant");
        return out.build().toArray();
    }

    private void header(IntStream.Builder out, String role) {
        out.add(startHeader);
        for (int id : encode(role)) out.add(id);
        out.add(endHeader);
        for (int id : encode("\n\n")) out.add(id);
    }
}
