package io.minference.ptx.tile;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

/**
 * One thread's share of copying {@code rows} rows of {@code rowBytes} bytes (one head's slice of a token-major
 * tensor) into a swizzled shared tile with 16-byte {@code cp.async}s. Rows at or past the tensor's valid length are
 * zero-filled without reading global memory, so a partial last tile holds zeros, never stale or foreign values
 * (a NaN there would survive multiplication by a masked probability of 0).
 */
public final class RowTileLoad {
    private final int rows;
    private final int rowBytes;
    private final int rowsPerPass;
    private final U32 threadRow;
    private final U32 chunk;
    private final U32 globalRowBytes;
    private final U32 sharedOffset;
    private final U64 globalOffset;
    private final U64 passStride;

    /**
     * @param threads         threads taking part, a multiple of the chunks per row dividing the tile's chunks
     * @param globalRowBytes  bytes between consecutive rows (tokens) of the global tensor
     */
    public RowTileLoad(KernelBuilder k, int rows, int rowBytes, U32 thread, int threads, U32 globalRowBytes) {
        int chunksPerRow = rowBytes / 16;
        if (threads % chunksPerRow != 0 || (rows * chunksPerRow) % threads != 0) {
            throw new IllegalArgumentException(threads + " threads cannot split " + rows + " rows of "
                    + chunksPerRow + " chunks evenly");
        }
        this.rows = rows;
        this.rowBytes = rowBytes;
        this.rowsPerPass = threads / chunksPerRow;
        if (rows > rowsPerPass && rowsPerPass % 8 != 0) {
            throw new IllegalArgumentException("rows per pass must keep the swizzle phase: " + rowsPerPass);
        }
        threadRow = k.div(thread, chunksPerRow).named("copyRow");
        chunk = k.rem(thread, chunksPerRow).named("copyChunk");
        this.globalRowBytes = globalRowBytes;
        sharedOffset = k.add(k.mul(threadRow, rowBytes), k.shl(k.xor(chunk, k.and(threadRow, 7)), 4))
                .named("copyDst");
        globalOffset = k.add(k.mulWide(threadRow, globalRowBytes), k.mulWide(chunk, 16)).named("copySrc");
        passStride = k.mulWide(globalRowBytes, rowsPerPass).named("copyStride");
    }

    /** Bytes of the shared tile. */
    public int bytes() {
        return rows * rowBytes;
    }

    /**
     * Starts the copies of rows {@code firstRow..firstRow+rows-1} into the tile at shared {@code tileBase}:
     * {@code origin} is the global address of row {@code firstRow}; rows at or past {@code validRows} are zeroed;
     * {@code anyValid} is an address that can always be read (the copy of a zeroed row points there).
     */
    public void copy(KernelBuilder k, U32 tileBase, U64 origin, U32 firstRow, U32 validRows, U64 anyValid) {
        U64 source = k.add(origin, globalOffset);
        U32 row = k.add(firstRow, threadRow);
        U32 destination = k.add(tileBase, sharedOffset);
        for (int pass = 0; pass < rows / rowsPerPass; pass++) {
            if (pass > 0) {
                source = k.add(source, passStride);
                row = k.add(row, rowsPerPass);
            }
            Pred valid = k.lt(row, validRows);
            k.copyAsyncZeroFill(Address.shared(destination).plus((long) pass * rowsPerPass * rowBytes),
                    Address.global(k.select(valid, source, anyValid)), k.select(valid, k.u32(16), k.u32(0)));
        }
    }

    /** Copies of the tile this thread makes: one row per pass. */
    public int passes() {
        return rows / rowsPerPass;
    }

    /** The tile row this thread copies in {@code pass}. */
    public U32 row(KernelBuilder k, int pass) {
        return pass == 0 ? threadRow : k.add(threadRow, (long) pass * rowsPerPass);
    }

    /** True on the threads that copy the first chunk of their rows (one thread per row). */
    public Pred firstChunk(KernelBuilder k) {
        return k.eq(chunk, 0);
    }

    /**
     * Starts the copies of gathered rows into the tile at shared {@code tileBase}: the row of pass p is global row
     * {@code rows[p]} of the tensor at {@code origin}, or zeros where {@code valid[p]} is false ({@code anyValid} is
     * an address that can always be read).
     */
    public void gather(KernelBuilder k, U32 tileBase, U64 origin, U32[] rows, Pred[] valid, U64 anyValid) {
        if (rows.length != passes() || valid.length != passes()) {
            throw new IllegalArgumentException("a gather needs one row per pass (" + passes() + "), got "
                    + rows.length);
        }
        U64 base = k.add(origin, k.mulWide(chunk, 16));
        U32 destination = k.add(tileBase, sharedOffset);
        for (int pass = 0; pass < passes(); pass++) {
            U64 source = k.add(base, k.mulWide(rows[pass], globalRowBytes));
            k.copyAsyncZeroFill(Address.shared(destination).plus((long) pass * rowsPerPass * rowBytes),
                    Address.global(k.select(valid[pass], source, anyValid)),
                    k.select(valid[pass], k.u32(16), k.u32(0)));
        }
    }
}
