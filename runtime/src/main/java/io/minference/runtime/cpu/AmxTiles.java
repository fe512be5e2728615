package io.minference.runtime.cpu;

import static io.minference.runtime.cpu.x86.X86Assembler.R10;
import static io.minference.runtime.cpu.x86.X86Assembler.RDI;
import static io.minference.runtime.cpu.x86.X86Assembler.RDX;
import static io.minference.runtime.cpu.x86.X86Assembler.RSI;

import io.minference.runtime.cpu.x86.X86Assembler;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the AMX products share: their per-thread workspaces' tile configuration and the tile products of their
 * kernels' inner loops.
 */
final class AmxTiles {
    /** Bytes of a Q8_0 block: an F16 scale, then 32 int8 quants. */
    static final int Q8_0_BYTES = 34;
    private AmxTiles() {
    }

    /**
     * The calling thread's workspace of {@code which} ({@code bytes}, 64-byte aligned), its tile configuration at
     * {@code config} written when it is made: palette 1, tile i of {@code tiles[i] = {rows, bytes per row}}.
     */
    static MemorySegment workspace(ThreadLocal<MemorySegment> which, long bytes, long config, int[][] tiles) {
        MemorySegment m = which.get();
        if (m == null) {
            m = CpuMatmul.nativeScratch(which, bytes);
            MemorySegment c = m.asSlice(config, 64);
            c.fill((byte) 0);
            c.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            for (int i = 0; i < tiles.length; i++) {
                c.set(ValueLayout.JAVA_SHORT_UNALIGNED, 16 + 2L * i, (short) tiles[i][1]);
                c.set(ValueLayout.JAVA_BYTE, 48 + i, (byte) tiles[i][0]);
            }
        }
        return m;
    }

    /**
     * {@code count} consecutive Q8_0 blocks' tile products, as both kernels emit them: block u's weights (16 rows
     * from [rdi + 34·u], rsi apart) into tile u % 2, its tokens from [rdx + tokenBytes·u] (rows r10 apart) into tile
     * 2 + u % 2, their product into sums tile 4 + u, stored to [sums + sumsBytes·u] (rows r10 apart). Each block has
     * a sums tile of its own: the tiles are not renamed, so one would make each block wait for the last one's store.
     */
    static void blockProducts(X86Assembler a, int count, int tokenBytes, int sums, int sumsOffset, int sumsBytes) {
        for (int u = 0; u < count; u++) {
            int weights = u % 2, tokens = 2 + u % 2, sumsTile = 4 + u;
            a.tileZero(sumsTile);
            a.tileLoad(weights, RDI, RSI, Q8_0_BYTES * u);
            a.tileLoad(tokens, RDX, R10, tokenBytes * u);
            a.tileDotSignedBytes(sumsTile, weights, tokens);
            a.tileStore(sums, R10, sumsOffset + sumsBytes * u, sumsTile);
        }
    }
}
