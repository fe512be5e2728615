package io.minference.sparse.gpu;

import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.ptx.KernelParam;
import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.Ptxas;
import io.minference.ptx.dsl.KernelDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every sparse kernel, for every target, must assemble with ptxas without spilling (skipped without ptxas). */
class SparseKernelsPtxasTest {
    static final List<KernelDefinition> KERNELS = List.of(
            SparseFlashPrefill.forHeadDim(64),
            SparseFlashPrefill.forHeadDim(128),
            new SparseFlashPrefill(128, 2),
            HopperSparseFlashPrefill.forHeadDim(128),
            HopperSparseFlashPrefill.forHeadDim(64),
            HopperSparseFlashPrefill.forHeadDim(128, LaunchOrder.LONGEST_FIRST),
            HopperSparseFlashPrefill.forHeadDim(128, LaunchOrder.LAST_FIRST, HopperFlashLoop.Schedule.parse("overlap")),
            HopperSparseFlashPrefill.forHeadDim(64, LaunchOrder.LAST_FIRST, HopperFlashLoop.Schedule.parse("overlap")),
            HopperSparseFlashPrefill.forHeadDim(128, LaunchOrder.LAST_FIRST, HopperFlashLoop.Schedule.parse("lazy")),
            HopperSparseFlashPrefill.forHeadDim(128, LaunchOrder.LONGEST_FIRST,
                    HopperFlashLoop.Schedule.parse("overlap,lazy")),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE
                    .withGather(GatherArrival.ASYNC)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE
                    .withGather(GatherArrival.ASYNC).withSchedule(HopperFlashLoop.Schedule.parse("overlap,lazy"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withKeysPerStep(128)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE.withKeysPerStep(128)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withKeysPerStep(128)
                    .withGather(GatherArrival.ASYNC).withSchedule(HopperFlashLoop.Schedule.parse("lazy"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE
                    .withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("warp"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withKeysPerStep(128)
                    .withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPairs(true)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE.withPairs(true)
                    .withOrder(LaunchOrder.LAST_FIRST)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPairs(true)
                    .withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true)
                    .withSchedule(HopperFlashLoop.Schedule.PLAIN).withGather(GatherArrival.ASYNC)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true)
                    .withPairs(true)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(32)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(16)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(8)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(16)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(16)
                    .withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp"))),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(16)
                    .withKeysPerStep(128)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(16)
                    .withPersistent(true)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withCluster(true)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.BASELINE.withCluster(true)
                    .withOrder(LaunchOrder.LAST_FIRST)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withCluster(true)
                    .withSchedule(HopperFlashLoop.Schedule.PLAIN)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.DEFAULT.withPrefetchTiles(2)),
            HopperSparseFlashPrefill.forHeadDim(64, HopperSparseFlashPrefill.Variant.DEFAULT.withPrefetchTiles(4)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withPrefetchTiles(1)),
            HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE.withKeysPerStep(128)
                    .withRangeBox(16).withPrefetchTiles(2)),
            new SlotOrder(SlotOrder.Pass.TILES),
            new SlotOrder(SlotOrder.Pass.ORDER),
            new SlotOrder(SlotOrder.Pass.TILES, true),
            new SlotOrder(SlotOrder.Pass.ORDER, true));

    static Stream<Arguments> kernelsAndTargets() {
        return KERNELS.stream().flatMap(kernel -> Stream.of(PtxTarget.values()).filter(kernel::supports)
                .map(t -> Arguments.of(kernel, t)));
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

    /**
     * Every flash kernel emits its key steps: at least one step's softmax (32 exponentials a thread for 64 keys) and
     * O += P V (a wgmma whose A operand is the probabilities in registers, or mma.sync). Assembling proves none of it:
     * session 7's paired kernel assembled cleanly while its consumers took the first step's S and went straight to
     * the epilogue (no exponential at all).
     */
    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("kernelsAndTargets")
    void everyFlashKernelEmitsItsKeySteps(KernelDefinition kernel, PtxTarget target) {
        assumeTrue(kernel instanceof SparseFlashPrefill || kernel instanceof HopperSparseFlashPrefill);
        KernelSource source = kernel.emit(target);
        String ptx = source.ptx();
        String name = source.entryName();
        assertTrue(ptx.contains("ex2.approx"), () -> name + " computes no exponentials");
        boolean registerA = kernel instanceof HopperSparseFlashPrefill
                ? ptx.matches("(?s).*wgmma\\.mma_async[^;]*\\}, \\{[^;]*;.*")
                : ptx.contains("mma.sync.aligned.m16n8k16");
        assertTrue(registerA, () -> name + " has no P V product from registers");
        int exponentials = ptx.split("ex2\\.approx", -1).length - 1;
        assertTrue(exponentials >= 32, () -> name + " has " + exponentials + " exponentials, fewer than one step's");
    }

    @Test
    void launchContractMatchesTheSource() {
        SparseFlashPrefill prefill = SparseFlashPrefill.forHeadDim(128);
        KernelSource source = prefill.emit(PtxTarget.SM_90A);
        assertEquals(128, SparseFlashPrefill.THREADS);
        assertEquals(64 * 256 + 3 * 2 * 64 * 256 + 3 * 272 + 16, prefill.sharedBytes());
        assertTrue(2 * (prefill.sharedBytes() + 1024) <= 228 * 1024, "two blocks per SM on Hopper");
        assertEquals(prefill.sharedBytes(), source.sharedMemoryBytes());
        assertEquals(List.of("q", "k", "v", "o", "rangeOffsets", "rangeCounts", "ranges", "columnOffsets",
                        "columnCounts", "columns", "length", "firstHead", "numHeads", "numKvHeads", "scale"),
                source.params().stream().map(p -> p.name()).toList());
        assertTrue(source.ptx().contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        assertTrue(source.ptx().contains("cp.async"));
    }

    @Test
    void theGatherArrivalsEmitTheirHandOver() {
        HopperSparseFlashPrefill.Variant variant = HopperSparseFlashPrefill.Variant.BASELINE;
        String waiting = HopperSparseFlashPrefill.forHeadDim(128, variant.withGather(GatherArrival.WAIT))
                .emit(PtxTarget.SM_90A).ptx();
        String async = HopperSparseFlashPrefill.forHeadDim(128, variant.withGather(GatherArrival.ASYNC))
                .emit(PtxTarget.SM_90A).ptx();
        assertTrue(waiting.contains("cp.async.wait_all"));
        assertFalse(waiting.contains("cp.async.mbarrier.arrive"));
        assertFalse(async.contains("cp.async.wait_all"), "the async producer never waits for its copies");
        assertTrue(async.contains("cp.async.mbarrier.arrive.noinc.shared::cta.b64"));
        assertTrue(async.matches("(?s).*mbarrier\\.init\\.shared::cta\\.b64 \\[[^]]+\\], 192;.*"),
                "full barriers count 128 tile arrivals and 64 position arrivals");
        String twoTiles = HopperSparseFlashPrefill.forHeadDim(128, variant.withGather(GatherArrival.ASYNC)
                .withKeysPerStep(128)).emit(PtxTarget.SM_90A).ptx();
        assertTrue(twoTiles.matches("(?s).*mbarrier\\.init\\.shared::cta\\.b64 \\[[^]]+\\], 320;.*"),
                "full barriers count 2 x 128 tile arrivals and 64 position arrivals");
        assertTrue(twoTiles.contains("wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16"), "64 x 128 steps");
        assertTrue(async.contains("fence.proxy.async.shared::cta"), "consumers fence a gathered stage");
    }

    /**
     * The paired kernel's contract: two consumer warpgroups on a 128-row Q tile, one block per SM, 64 key positions
     * per consumer in each stage, uniform branches around the consumers' wgmmas; and what it cannot be combined with
     * is refused by name.
     */
    @Test
    void pairedBlocksShareOneKeyStream() {
        HopperSparseFlashPrefill.Variant pairs = HopperSparseFlashPrefill.Variant.BASELINE.withPairs(true);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(128, pairs);
        KernelSource source = kernel.emit(PtxTarget.SM_90A);
        assertEquals(384, kernel.threads());
        assertEquals(128, kernel.queryRows());
        assertEquals(128 * 256 + 4 * (2 * 64 * 256 + 512) + 9 * 8, kernel.sharedBytes());
        assertTrue(kernel.sharedBytes() + 1024 <= 228 * 1024);
        assertTrue(source.entryName().endsWith("_longest_lazy_pairs"), source.entryName());
        assertTrue(source.ptx().contains("bra.uni"), "the consumers' take-or-skip branches are uniform");
        assertEquals(64, HopperSparseFlashPrefill.forHeadDim(128).queryRows());
        List<Supplier<HopperSparseFlashPrefill.Variant>> wrong = List.of(() -> pairs.withKeysPerStep(128),
                () -> pairs.withGather(GatherArrival.ASYNC),
                () -> pairs.withSchedule(HopperFlashLoop.Schedule.parse("overlap")), () -> pairs.withRangeBox(16));
        for (Supplier<HopperSparseFlashPrefill.Variant> variant : wrong) {
            var e = assertThrows(IllegalArgumentException.class, variant::get);
            assertTrue(e.getMessage().contains(HopperSparseFlashPrefill.PAIRS_PROPERTY), e.getMessage());
        }
    }

    /**
     * The clustered kernel's contract: the single-slot geometry (one consumer warpgroup, 64-row Q tile) in clusters of
     * (1, 2, 1), multicast range tiles, releases on both blocks' barriers, uniform branches around the consumers'
     * wgmmas; and what it cannot be combined with is refused by name.
     */
    @Test
    void clusteredBlocksShareOneKeyStream() {
        HopperSparseFlashPrefill.Variant cluster = HopperSparseFlashPrefill.Variant.BASELINE.withCluster(true);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(128, cluster);
        assertEquals(65534, kernel.gridBlocksPerHead(32767), "two blocks a pair");
        var tooLong = assertThrows(IllegalArgumentException.class, () -> kernel.gridBlocksPerHead(32768));
        assertTrue(tooLong.getMessage().contains("65536 block rows per head, more than a grid's 65535"),
                tooLong.getMessage());
        KernelSource source = kernel.emit(PtxTarget.SM_90A);
        HopperSparseFlashPrefill single = HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant
                .BASELINE);
        assertEquals(single.threads(), kernel.threads());
        assertEquals(64, kernel.queryRows());
        assertEquals(single.sharedBytes(), kernel.sharedBytes());
        assertTrue(source.entryName().endsWith("_longest_lazy_cluster2"), source.entryName());
        assertTrue(source.ptx().contains(".reqnctapercluster 1, 2, 1"), "clusters of two along y");
        assertTrue(source.ptx().contains(".multicast::cluster"), "shared range tiles multicast");
        assertTrue(source.ptx().contains("bra.uni"), "the consumers' take-or-skip branches are uniform");
        assertEquals(HopperSparseFlashPrefill.Variant.parse(
                "cluster=true range-box=64 gather=wait schedule=lazy order=longest-first"),
                cluster.withGather(GatherArrival.WAIT));
        assertTrue(cluster.describe().endsWith(", clusters of 2"), cluster.describe());
        List<Supplier<HopperSparseFlashPrefill.Variant>> wrong = List.of(() -> cluster.withKeysPerStep(128),
                () -> cluster.withGather(GatherArrival.ASYNC), () -> cluster.withPairs(true),
                () -> cluster.withPersistent(true), () -> cluster.withOrder(LaunchOrder.HEAD_MAJOR),
                () -> cluster.withSchedule(HopperFlashLoop.Schedule.parse("overlap")), () -> cluster.withRangeBox(16));
        for (Supplier<HopperSparseFlashPrefill.Variant> variant : wrong) {
            var e = assertThrows(IllegalArgumentException.class, variant::get);
            assertTrue(e.getMessage().contains(HopperSparseFlashPrefill.CLUSTER_PROPERTY), e.getMessage());
        }
    }

    /**
     * The persistent kernel's contract: a grid-strided walk over the list with two more parameters, the Q-free
     * barrier beside the ring's, and the combinations it cannot take refused by the property's name.
     */
    @Test
    void persistentBlocksWalkTheSortedList() {
        HopperSparseFlashPrefill.Variant persistent = HopperSparseFlashPrefill.Variant.BASELINE.withPersistent(true);
        HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(128, persistent);
        KernelSource source = kernel.emit(PtxTarget.SM_90A);
        assertTrue(source.entryName().endsWith("_longest_lazy_persistent"), source.entryName());
        assertEquals(List.of("units", "blocksPerHead"), source.params().subList(source.params().size() - 2,
                source.params().size()).stream().map(KernelParam::name).toList());
        assertEquals(HopperSparseFlashPrefill.forHeadDim(128, HopperSparseFlashPrefill.Variant.BASELINE)
                .sharedBytes() + 8, kernel.sharedBytes(), "one more mbarrier: Q free");
        assertEquals(2 * 132, kernel.persistentGrid(100_000, 132), "two blocks per SM");
        assertEquals(7, kernel.persistentGrid(7, 132), "at most one block per unit");
        List<Supplier<HopperSparseFlashPrefill.Variant>> wrong = List.of(
                () -> persistent.withOrder(LaunchOrder.LAST_FIRST), () -> persistent.withKeysPerStep(128),
                () -> persistent.withGather(GatherArrival.WARP),
                () -> persistent.withSchedule(HopperFlashLoop.Schedule.parse("overlap")));
        for (Supplier<HopperSparseFlashPrefill.Variant> variant : wrong) {
            var e = assertThrows(IllegalArgumentException.class, variant::get);
            assertTrue(e.getMessage().contains(HopperSparseFlashPrefill.PERSISTENT_PROPERTY), e.getMessage());
        }
    }

    /**
     * Range tiles in boxes: the K and V maps' box is the range box, a range tile's copies are 64 / box TMA loads per
     * tensor (two per box: the halves of d 128), and below 64 keys the tile of one range has its own copy of 64 rows
     * through the maps of whole tiles, which only those kernels take; the entry name says the box, and a box that is
     * not 64, 32, 16 or 8 keys is refused by the property's name.
     */
    @Test
    void rangeTilesInBoxesCopyABoxAtATime() {
        for (int box : new int[] {64, 32, 16, 8}) {
            HopperSparseFlashPrefill kernel = HopperSparseFlashPrefill.forHeadDim(128,
                    HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(box));
            String ptx = kernel.emit(PtxTarget.SM_90A).ptx();
            assertEquals(box, kernel.keyBoxRows());
            assertEquals(box == 64 ? "sparse_flash_prefill_sm90a_bf16_d128_s3_longest_lazy"
                    : "sparse_flash_prefill_sm90a_bf16_d128_s3_longest_lazy_rb" + box, kernel.entryName());
            // the Q load, and per range tile 2 (K, V) x 2 (d halves) x boxes, and with boxes below a tile the whole
            // tile's 2 x 2; no copy elsewhere
            int copies = ptx.split("cp\\.async\\.bulk\\.tensor", -1).length - 1;
            assertEquals(2 + 4 * (64 / box) + (box == 64 ? 0 : 4), copies,
                    "TMA loads in the kernel with boxes of " + box);
            assertEquals(box != 64, kernel.wholeTileMaps());
            assertEquals(box != 64, ptx.contains("param_kTile") && ptx.contains("param_vTile"), "boxes of " + box);
        }
        for (int bad : new int[] {0, 4, 24, 128}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> HopperSparseFlashPrefill.Variant.BASELINE.withRangeBox(bad));
            assertTrue(e.getMessage().contains(HopperSparseFlashPrefill.RANGE_BOX_PROPERTY), e.getMessage());
        }
    }

    @Test
    void unsupportedShapesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> SparseFlashPrefill.forHeadDim(96));
        assertTrue(e.getMessage().contains("96"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SparseFlashPrefill(128, 1));
    }
}
