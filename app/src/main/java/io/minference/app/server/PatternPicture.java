package io.minference.app.server;

import io.minference.llama.session.KeptKeys;

/**
 * One head's sparse pattern, shrunk to a square grid for drawing: row r holds query blocks, column c holds keys, and
 * each cell says which share of its causal (query block, key) pairs the index keeps, through ranges (which is how
 * kept blocks and slash diagonals arrive) and through single columns (vertical lines).
 *
 * @param pattern        the head's pattern name (vertical-slash, a-shape, block-sparse, ...)
 * @param length         prompt tokens
 * @param cells          grid edge, in cells
 * @param rangeShare     cells × cells, row-major: kept share through ranges, in [0, 1]; -1 above the diagonal
 * @param columnShare    as rangeShare, through single columns
 * @param ranges         key ranges over all query blocks
 * @param columns        single key columns over all query blocks
 * @param keptShare      kept keys over causal keys, at each query block's last row, summed over the blocks
 */
public record PatternPicture(int layer, int head, String pattern, int length, int cells, float[] rangeShare,
                             float[] columnShare, long ranges, long columns, double keptShare) {

    /** Grid edge used when the prompt has more query blocks than this. */
    public static final int MAX_CELLS = 128;

    /**
     * The picture of the keys a head keeps.
     *
     * @param maxCells grid edge at most; a prompt of fewer query blocks gets one cell per block
     */
    public static PatternPicture of(KeptKeys index, int layer, int head, String pattern, int maxCells) {
        int length = index.length();
        int blocks = index.queryBlocks();
        int cells = Math.min(blocks, maxCells);
        double[] kept = new double[cells * cells];
        double[] keptColumns = new double[cells * cells];
        double[] causal = new double[cells * cells];
        long ranges = 0;
        long columns = 0;
        long keptAtLastRows = 0;
        long causalAtLastRows = 0;
        for (int b = 0; b < blocks; b++) {
            int row = (int) ((long) b * cells / blocks);
            int end = index.blockEnd(b);
            for (int c = 0; c < cells; c++) {
                int from = keyCellStart(c, cells, length);
                int to = Math.min(keyCellStart(c + 1, cells, length), end);
                if (to > from) causal[row * cells + c] += to - from;
            }
            for (int r = 0; r < index.rangeCount(b); r++) {
                addSpan(kept, row, cells, length, index.rangeStart(b, r), index.rangeEnd(b, r));
                ranges++;
            }
            for (int c = 0; c < index.columnCount(b); c++) {
                int key = index.column(b, c);
                keptColumns[row * cells + keyCell(key, cells, length)] += 1;
                columns++;
            }
            keptAtLastRows += index.keysAttended(end - 1);
            causalAtLastRows += end;
        }
        float[] rangeShare = new float[cells * cells];
        float[] columnShare = new float[cells * cells];
        for (int i = 0; i < rangeShare.length; i++) {
            rangeShare[i] = causal[i] == 0 ? -1 : (float) (kept[i] / causal[i]);
            columnShare[i] = causal[i] == 0 ? -1 : (float) (keptColumns[i] / causal[i]);
        }
        return new PatternPicture(layer, head, pattern, length, cells, rangeShare, columnShare, ranges, columns,
                (double) keptAtLastRows / causalAtLastRows);
    }

    /** The first key of key cell c: cells split the keys as evenly as whole tokens allow. */
    private static int keyCellStart(int c, int cells, int length) {
        return (int) ((long) c * length / cells);
    }

    private static int keyCell(int key, int cells, int length) {
        int c = (int) ((long) key * cells / length);
        while (c + 1 < cells && keyCellStart(c + 1, cells, length) <= key) c++;
        while (keyCellStart(c, cells, length) > key) c--;
        return c;
    }

    private static void addSpan(double[] kept, int row, int cells, int length, int start, int end) {
        for (int c = keyCell(start, cells, length); c < cells; c++) {
            int from = Math.max(start, keyCellStart(c, cells, length));
            int to = Math.min(end, keyCellStart(c + 1, cells, length));
            if (to <= from) break;
            kept[row * cells + c] += to - from;
        }
    }
}
