package io.minference.llama.forward;

import io.minference.runtime.ProgressListener;

/**
 * What every forward pass (CPU and GPU) does the same way around a prompt: the room check against the KV cache,
 * the split into chunks that fit the activation buffers, and the progress reports.
 */
public final class PrefillChunks {
    private PrefillChunks() {
    }

    /** Runs one chunk of the prompt: tokens [from, from + count). */
    @FunctionalInterface
    public interface Chunk {
        void run(int from, int count);
    }

    /**
     * Runs {@code tokenCount} tokens in chunks of at most {@code chunkRows}, reporting ("prefill", tokens done,
     * tokens in all) before the first and after every chunk.
     *
     * @return the size of the last chunk, so the caller can find the last token's row
     */
    public static int run(int tokenCount, int chunkRows, ProgressListener progress, Chunk chunk) {
        if (tokenCount == 0) throw new IllegalArgumentException("nothing to prefill: no tokens");
        progress.progress("prefill", 0, tokenCount);
        return forEach(tokenCount, chunkRows, (from, count) -> {
            chunk.run(from, count);
            progress.progress("prefill", from + count, tokenCount);
        });
    }

    /**
     * Runs {@code tokenCount} tokens in chunks of at most {@code chunkRows}, without progress reports: one stage of
     * a layer-major prefill, which walks the prompt in chunks several times per layer.
     *
     * @return the size of the last chunk
     */
    public static int forEach(int tokenCount, int chunkRows, Chunk chunk) {
        if (chunkRows < 1) throw new IllegalArgumentException("chunks need at least one row, got " + chunkRows);
        int done = 0;
        int lastCount = 0;
        while (done < tokenCount) {
            lastCount = Math.min(chunkRows, tokenCount - done);
            chunk.run(done, lastCount);
            done += lastCount;
        }
        return lastCount;
    }

    /** Computes the logits of {@code count} rows of the chunk just run, from row {@code first}, into {@code kept[at...]}. */
    @FunctionalInterface
    public interface LogitRows {
        void keep(int first, int count, float[][] kept, int at);
    }

    /**
     * As {@link #run}, and after each chunk the logits of its rows among the last {@code logitsToKeep} of the
     * prompt, through {@code logits}.
     *
     * @return the logits of the last {@code logitsToKeep} positions, in order
     */
    public static float[][] runKeepingLast(int tokenCount, int chunkRows, int logitsToKeep, ProgressListener progress,
                                           Chunk chunk, LogitRows logits) {
        requireKeep(logitsToKeep, tokenCount);
        float[][] kept = new float[logitsToKeep][];
        int firstKept = tokenCount - logitsToKeep;
        run(tokenCount, chunkRows, progress, (from, count) -> {
            chunk.run(from, count);
            int keepFrom = Math.max(from, firstKept);
            if (keepFrom < from + count) logits.keep(keepFrom - from, from + count - keepFrom, kept, keepFrom - firstKept);
        });
        return kept;
    }

    /** Refuses to keep the logits of fewer than one or more than {@code length} positions. */
    public static void requireKeep(int logitsToKeep, int length) {
        if (logitsToKeep < 1 || logitsToKeep > length) {
            throw new IllegalArgumentException("logits to keep must be from 1 to the prompt's " + length
                    + " tokens, got " + logitsToKeep);
        }
    }

    /** Refuses a layer-major (whole-prompt) prefill that does not start a sequence. */
    public static void requireStart(int position) {
        if (position != 0) {
            throw new IllegalStateException("a whole-prompt (layer-major) prefill starts a sequence at position 0,"
                    + " but this one is at position " + position);
        }
    }

    /** Refuses to add {@code tokens} at {@code position} to a cache of {@code capacity} positions that lacks room. */
    public static void requireRoom(int position, int tokens, int capacity) {
        if ((long) position + tokens > capacity) {
            throw new IllegalStateException("cannot add " + tokens + " tokens at position " + position
                    + ": this sequence holds " + capacity + " positions");
        }
    }
}
