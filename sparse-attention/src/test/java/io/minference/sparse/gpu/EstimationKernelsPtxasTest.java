package io.minference.sparse.gpu;

import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every estimation kernel, for every target, must assemble with ptxas without spilling (skipped without ptxas). */
class EstimationKernelsPtxasTest {
    static final List<KernelDefinition> KERNELS = List.of(
            new VerticalSlashTile(64, VerticalSlashTile.Mode.ROW_STATS),
            new VerticalSlashTile(64, VerticalSlashTile.Mode.SCORES),
            new VerticalSlashTile(128, VerticalSlashTile.Mode.ROW_STATS),
            new VerticalSlashTile(128, VerticalSlashTile.Mode.SCORES),
            new VerticalSlashTile(64, VerticalSlashTile.Mode.ROW_STATS, false),
            new VerticalSlashTile(128, VerticalSlashTile.Mode.SCORES, false),
            new VerticalSlashRowStats(),
            new VerticalSlashSelect(),
            new VerticalSlashRuns(),
            new IndexAssembly(false),
            new IndexAssembly(true),
            new SlotOffsets(),
            new IndexTiles(),
            new IndexKeys(),
            new BlockPool(64),
            new BlockPool(128),
            new BlockSparseSelect(64, 64),
            new BlockSparseSelect(128, 2048),
            new BlockSparseSelect(128, BlockSparseSelect.MAX_BLOCKS));

    static Stream<Arguments> kernelsAndTargets() {
        return KERNELS.stream().flatMap(kernel -> Stream.of(PtxTarget.values()).map(t -> Arguments.of(kernel, t)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("kernelsAndTargets")
    void assemblesWithoutSpilling(KernelDefinition kernel, PtxTarget target) throws Exception {
        var found = Ptxas.onPath();
        assumeTrue(found.isPresent(), "ptxas is not on the PATH");
        KernelSource source = kernel.emit(target);
        Ptxas.Result result = found.get().assemble(source, true);
        assertEquals(List.of(), result.problems(),
                () -> source.entryName() + " for " + target.arch() + ":\n" + result.log());
        System.out.printf("%-44s %-7s %3d registers%n", source.entryName(), target.arch(), result.registers());
    }

    @Test
    void launchContractsMatchTheSources() {
        VerticalSlashTile tile = new VerticalSlashTile(128, VerticalSlashTile.Mode.SCORES);
        KernelSource source = tile.emit(PtxTarget.SM_90A);
        // query rows, logits, and for the scores the rows' combined statistics
        assertEquals(64 * (2 * 128 + 16) + 64 * 264 * 4 + 64 * 8, source.sharedMemoryBytes());
        assertEquals(64 * (2 * 128 + 16) + 64 * 264 * 4, new VerticalSlashTile(128, VerticalSlashTile.Mode.ROW_STATS)
                .emit(PtxTarget.SM_90A).sharedMemoryBytes());
        assertTrue(source.ptx().contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        assertEquals(64 * 128 * 4 + 64 * 264 * 4 + 64 * 8,
                new VerticalSlashTile(128, VerticalSlashTile.Mode.SCORES, false).emit(PtxTarget.SM_80)
                        .sharedMemoryBytes());
        assertEquals(List.of("q", "k", "params", "stats", "rowStats", "scores", "firstHead", "numHeads", "numKvHeads",
                "length", "scale"), source.params().stream().map(p -> p.name()).toList());
        assertEquals(List.of("params", "lists", "kept", "rangeOffsets", "rangeCounts", "ranges", "columnOffsets",
                "columnCounts", "columns", "runs", "runCounts", "diagonalBits", "headTotals", "length", "firstSlot"),
                new IndexAssembly(false)
                .emit(PtxTarget.SM_80)
                .params().stream().map(p -> p.name()).toList());
        assertEquals(64, BlockSparseSelect.forBlocks(128, 1).maxBlocks());
        assertEquals(2048, BlockSparseSelect.forBlocks(128, 2048).maxBlocks());
        assertEquals(4096, BlockSparseSelect.forBlocks(128, 2049).maxBlocks());
        assertEquals(4 * 4096, BlockSparseSelect.forBlocks(128, 2049).emit(PtxTarget.SM_80).sharedMemoryBytes());
    }

    @Test
    void unsupportedShapesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new VerticalSlashTile(100, VerticalSlashTile.Mode.SCORES));
        assertThrows(IllegalArgumentException.class, () -> new BlockSparseSelect(128, 100));
        var e = assertThrows(IllegalArgumentException.class, () -> BlockSparseSelect.forBlocks(128, 40000));
        assertTrue(e.getMessage().contains("tokens"), e.getMessage());
    }
}
