package io.minference.ptx.tile;

/**
 * How a row-major tile's rows sit in shared memory, in units of 16-byte chunks (the unit of cp.async and of an
 * ldmatrix row). Plain row-major tiles whose rows are 128 bytes apart put the 8 rows an ldmatrix reads in the same
 * banks; padding or an XOR swizzle spreads them over all 32 banks.
 */
public sealed interface TileLayout {
    /** Rows back to back. */
    record RowMajor() implements TileLayout {
    }

    /** Rows {@code padBytes} (a multiple of 16) further apart than their length. */
    record Padded(int padBytes) implements TileLayout {
        public Padded {
            if (padBytes <= 0 || padBytes % 16 != 0) {
                throw new IllegalArgumentException("padding must be a positive multiple of 16 bytes, got " + padBytes);
            }
        }
    }

    /**
     * Rows back to back, chunk {@code c} of row {@code r} stored at chunk {@code c ^ (r % 8)}: the 8 rows of an
     * ldmatrix land in 8 different bank groups. Needs rows of a multiple of 128 bytes.
     */
    record Swizzled() implements TileLayout {
    }

    static TileLayout rowMajor() {
        return new RowMajor();
    }

    static TileLayout padded(int padBytes) {
        return new Padded(padBytes);
    }

    static TileLayout swizzled() {
        return new Swizzled();
    }

    /** Bytes from one row's start to the next for rows of {@code rowBytes}. */
    default int rowStride(int rowBytes) {
        return switch (this) {
            case Padded p -> rowBytes + p.padBytes();
            case RowMajor r -> rowBytes;
            case Swizzled s -> rowBytes;
        };
    }

    /** Where chunk {@code chunk} of row {@code row} is stored, as a byte offset from the tile start. */
    default int offset(int row, int chunk, int rowBytes) {
        int stored = this instanceof Swizzled ? chunk ^ (row % 8) : chunk;
        return row * rowStride(rowBytes) + stored * 16;
    }
}
