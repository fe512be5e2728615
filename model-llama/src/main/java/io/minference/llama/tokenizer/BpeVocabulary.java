package io.minference.llama.tokenizer;

import java.util.List;

/**
 * What a byte-level BPE tokenizer is made of, as read from a file.
 *
 * @param source       the file or metadata it came from, for error messages
 * @param tokens       token strings indexed by id (byte-level spelling; null where an id is unused)
 * @param addedTokens  which ids are added tokens (special or user-defined), matched verbatim in the text
 * @param merges       merges in rank order, each the pair of token strings it joins
 * @param ignoreMerges whether a word that is itself a token skips the merges (LLaMA-3's tokenizer.json sets this)
 * @param bos          the beginning-of-sequence id, or -1 if the file names none
 * @param eos          the end-of-sequence id, or -1 if the file names none
 */
record BpeVocabulary(String source, String[] tokens, boolean[] addedTokens, List<Merge> merges,
                     boolean ignoreMerges, int bos, int eos) {

    record Merge(String left, String right) {
    }
}
