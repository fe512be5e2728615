package io.minference.sparse.pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.cpu.LayerInputs;
import io.minference.sparse.estimate.BlockScores;
import io.minference.sparse.estimate.VerticalSlashScores;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each pattern's index on small cases worked out by hand. */
class BuiltInPatternsTest {
    private static final AttentionShape ONE = new AttentionShape(1, 1, 1);

    @Test
    void denseIsOneRangePerBlock() {
        SparseIndex index = write(DensePattern.index(), 130);
        assertEquals("[0,64) | [0,128) | [0,130)", describe(index));
    }

    @Test
    void aShapeMarksSinkAndLocalBlocks() {
        SparseIndex index = write(AShapePattern.index(new HeadPattern.AShape(10, 100)), 300);
        assertEquals("[0,64) | [0,128) | [0,192) | [0,256) | [0,64) [128,300)", describe(index));
        SparseIndex local = write(AShapePattern.index(new HeadPattern.AShape(0, 1)), 300);
        assertEquals("[0,64) | [64,128) | [128,192) | [192,256) | [256,300)", describe(local));
        SparseIndex wideSink = write(AShapePattern.index(new HeadPattern.AShape(130, 1)), 300);
        assertEquals("[0,64) | [0,128) | [0,192) | [0,192) [192,256) | [0,192) [256,300)".replace("[0,192) [192,256)",
                "[0,256)"), describe(wideSink));
    }

    @Test
    void verticalSlashIndexCoversExactlyTheDiagonalsKeysAndKeepsLeftoverColumns() {
        VerticalSlashIndex selection = new VerticalSlashIndex(new int[] {5, 70, 200}, new int[] {0, 130}, 260);
        assertEquals(new IndexCapacity(2, 3), selection.capacity());
        SparseIndex index = write(selection, 260);
        // diagonal 130 crosses keys [m0 - 130, m0 - 66) of block [m0, m0 + 64): [0,62) in block 2, [126,190) in 4
        assertEquals("[0,64) | [64,128) c5 | [0,62) [128,192) c70 | [62,126) [192,256) c5"
                + " | [126,190) [256,260) c5 c70 c200", describe(index));
        assertEquals(1 + 2 + 3 + 3 + 3, index.tiles(0), "one tile per range here, one per block's columns");
    }

    @Test
    void verticalSlashDiagonalsMergeWhereTheirWindowsOverlapOrTouch() {
        // in block 3 (rows 192..255): diagonal 10 covers [182,246), 74 [118,182) (touching), 200 [0,56), 139 [53,117)
        VerticalSlashIndex selection = new VerticalSlashIndex(new int[] {56, 117, 190}, new int[] {10, 74, 139, 200},
                256);
        SparseIndex index = write(selection, 256);
        assertEquals("[0,117) [118,246) c117",
                describe(index).split(" \\| ")[3]);
    }

    @Test
    void verticalSlashEstimationOfUniformAttention() {
        // zero queries: every row attends its prefix uniformly, P[i][j] = 1 / (i + 1)
        int length = 100;
        try (Tensor q = Tensor.allocate(DType.F32, length, 1); Tensor k = ramp(length)) {
            var scores = VerticalSlashScores.estimate(new LayerInputs(ONE, q, k, length), 0);
            assertEquals(64, scores.rows());
            for (int j = 0; j < length; j++) {
                double expected = 0;
                for (int i = Math.max(36, j); i < length; i++) expected += 1.0 / (i + 1);
                assertEquals(expected, scores.vertical()[j], 1e-6, "column " + j);
                assertEquals(expected, scores.slash()[j], 1e-6, "diagonal " + j);
            }
        }
    }

    @Test
    void verticalSlashTiesGoToLowerIndicesAndAStrongColumnIsFound() {
        int length = 200;
        try (Tensor q = Tensor.allocate(DType.F32, length, 1); Tensor k = ramp(length)) {
            // uniform attention: columns and diagonals up to 136 tie, the lowest indices win
            var uniform = (VerticalSlashIndex) new VerticalSlashPattern().estimate(
                    new HeadPattern.VerticalSlash(Budget.topK(40), Budget.topK(110)), new LayerInputs(ONE, q, k, length), 0);
            assertArrayEquals(range(0, 40), uniform.columns());
            assertArrayEquals(range(0, 110), uniform.diagonals());
            for (int i = 0; i < length; i++) q.setFloat(i, 1f);
            for (int j = 0; j < length; j++) k.setFloat(j, j == 150 ? 10f : 0f);
            var strong = (VerticalSlashIndex) new VerticalSlashPattern().estimate(
                    new HeadPattern.VerticalSlash(Budget.topK(31), Budget.topK(100)), new LayerInputs(ONE, q, k, length), 0);
            int[] expected = new int[31];
            System.arraycopy(range(0, 30), 0, expected, 0, 30);
            expected[30] = 150;
            assertArrayEquals(expected, strong.columns());
        }
    }

    @Test
    void blockSparseKeepsForcedBlocksThenTheBestScores() {
        // q = 1 everywhere, keys 5 in block 2 and 0 elsewhere: pooled scores favour key block 2
        int length = 256;
        try (Tensor q = Tensor.allocate(DType.F32, length, 1); Tensor k = Tensor.allocate(DType.F32, length, 1)) {
            for (int i = 0; i < length; i++) {
                q.setFloat(i, 1f);
                k.setFloat(i, i / 64 == 2 ? 5f : 0f);
            }
            LayerInputs inputs = new LayerInputs(ONE, q, k, length);
            BlockSparsePattern pattern = new BlockSparsePattern();
            assertEquals("[0,64) | [0,128) | [0,64) [128,192) | [0,64) [192,256)",
                    describe(write(pattern.estimate(new HeadPattern.BlockSparse(Budget.topK(2)), inputs, 0), length)));
            assertEquals("[0,64) | [0,128) | [0,192) | [0,64) [128,256)",
                    describe(write(pattern.estimate(new HeadPattern.BlockSparse(Budget.topK(3)), inputs, 0), length)));
            // block 3: forced 0 and 3 hold about 1.3%, block 2 the rest
            assertEquals("[0,64) | [0,128) | [0,64) [128,192) | [0,64) [128,256)",
                    describe(write(pattern.estimate(new HeadPattern.BlockSparse(Budget.mass(0.5)), inputs, 0), length)));
        }
    }

    @Test
    void blockSparsePoolsThePartialLastBlock() {
        int length = 130;
        try (Tensor q = Tensor.allocate(DType.F32, length, 1); Tensor k = Tensor.allocate(DType.F32, length, 1)) {
            for (int i = 0; i < length; i++) {
                q.setFloat(i, i >= 128 ? 2f : 1f);
                k.setFloat(i, i == 129 ? 4f : 0f);
            }
            var scores = BlockScores.estimate(new LayerInputs(ONE, q, k, length), 0);
            assertEquals(2.0 * 2.0, scores.scores()[2][2], 1e-12, "mean of the 2 rows of the last block");
            assertEquals(0.0, scores.scores()[2][1], 1e-12);
        }
    }

    static SparseIndex write(HeadIndex head, int length) {
        IndexCapacity c = head.capacity();
        SparseIndex index = new SparseIndex(0, 1, length, c.maxRanges(), c.maxColumns());
        head.writeTo(index, 0);
        return index;
    }

    /** "ranges columns" per block, blocks separated by " | ". */
    static String describe(SparseIndex index) {
        List<String> blocks = new ArrayList<>();
        for (int b = 0; b < index.queryBlocks(); b++) {
            List<String> parts = new ArrayList<>();
            for (int r = 0; r < index.rangeCount(0, b); r++) {
                parts.add("[" + index.rangeStart(0, b, r) + "," + index.rangeEnd(0, b, r) + ")");
            }
            for (int c = 0; c < index.columnCount(0, b); c++) parts.add("c" + index.column(0, b, c));
            blocks.add(String.join(" ", parts));
        }
        return String.join(" | ", blocks);
    }

    private static Tensor ramp(int length) {
        Tensor k = Tensor.allocate(DType.F32, length, 1);
        for (int j = 0; j < length; j++) k.setFloat(j, j % 7);
        return k;
    }

    private static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }

    @Test
    void staticCapacitiesFollowTheDoc() {
        assertEquals(new IndexCapacity(16, 1000),
                new VerticalSlashPattern().capacity(HeadPattern.VerticalSlash.DEFAULT, 1000));
        assertEquals(new IndexCapacity(1, 0), new VerticalSlashPattern().capacity(
                new HeadPattern.VerticalSlash(Budget.topK(0), Budget.topK(0)), 1000));
        assertEquals(new IndexCapacity(4, 0),
                new BlockSparsePattern().capacity(new HeadPattern.BlockSparse(Budget.topK(4)), 1000));
        assertEquals(new IndexCapacity(16, 0),
                new BlockSparsePattern().capacity(new HeadPattern.BlockSparse(Budget.mass(0.9)), 1000));
        assertTrue(new VerticalSlashPattern().capacity(new HeadPattern.VerticalSlash(Budget.mass(0.9),
                Budget.topK(5)), 1000).maxColumns() == 1000);
    }
}
