package io.minference.app.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.minference.llama.session.KeptKeys;
import io.minference.sparse.SparseIndex;
import org.junit.jupiter.api.Test;

/** The picture's grid against shares worked out by hand from small indices. */
class PatternPictureTest {
    private static final float EPS = 1e-6f;

    /** 256 tokens, 4 query blocks; ranges are kept blocks and a diagonal, columns are single keys. */
    private static SparseIndex fourBlocks() {
        SparseIndex index = new SparseIndex(0, 1, 256, 4, 4);
        index.addRange(0, 0, 0, 64);
        index.addRange(0, 1, 0, 64);
        index.addColumn(0, 1, 100);
        index.addRange(0, 2, 128, 192);
        index.addColumn(0, 2, 5);
        index.addColumn(0, 2, 70);
        index.addRange(0, 3, 0, 64);
        index.addRange(0, 3, 192, 256);
        return index;
    }

    @Test
    void oneCellPerBlockWhenThePromptIsShort() {
        PatternPicture p = PatternPicture.of(KeptKeys.of(fourBlocks(), 0), 3, 5, "vertical-slash", 128);
        assertEquals(4, p.cells());
        assertArrayEquals(new float[] {
                1, -1, -1, -1,
                1, 0, -1, -1,
                0, 0, 1, -1,
                1, 0, 0, 1}, p.rangeShare(), EPS);
        assertArrayEquals(new float[] {
                0, -1, -1, -1,
                0, 1 / 64f, -1, -1,
                1 / 64f, 1 / 64f, 0, -1,
                0, 0, 0, 0}, p.columnShare(), EPS);
        assertEquals(5, p.ranges());
        assertEquals(3, p.columns());
        // last rows 63, 127, 191, 255 attend 64, 64 + 1, 64 + 2 and 128 keys of 64, 128, 192 and 256
        assertEquals(323.0 / 640.0, p.keptShare(), 1e-12);
        assertEquals(3, p.layer());
        assertEquals(5, p.head());
        assertEquals(256, p.length());
    }

    @Test
    void longPromptsAreShrunkToTheGrid() {
        PatternPicture p = PatternPicture.of(KeptKeys.of(fourBlocks(), 0), 0, 0, "vertical-slash", 2);
        assertEquals(2, p.cells());
        // row 0 = blocks 0 and 1 (causal keys in [0, 128): 64 + 128), row 1 = blocks 2 and 3
        assertArrayEquals(new float[] {128f / 192, -1, 64f / 256, 128f / 192}, p.rangeShare(), EPS);
        assertArrayEquals(new float[] {1f / 192, -1, 2f / 256, 0}, p.columnShare(), EPS);
    }

    @Test
    void aLengthThatIsNoMultipleOfTheBlockSplitsCellsByTokens() {
        SparseIndex index = new SparseIndex(0, 1, 100, 2, 1);
        index.addRange(0, 0, 0, 64);
        index.addRange(0, 1, 64, 100);
        PatternPicture p = PatternPicture.of(KeptKeys.of(index, 0), 0, 0, "a-shape", 128);
        assertEquals(2, p.cells());
        // key cells [0, 50) and [50, 100); block 0 sees keys below 64, block 1 below 100
        assertArrayEquals(new float[] {1, 1, 0, 36f / 50}, p.rangeShare(), EPS);
        assertEquals((64 + 36) / 164.0, p.keptShare(), 1e-12);
    }
}
