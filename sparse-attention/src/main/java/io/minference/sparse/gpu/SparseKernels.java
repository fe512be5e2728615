package io.minference.sparse.gpu;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.ptx.dsl.KernelDefinition;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel specializations the sparse path launches for one attention shape: the sparse prefills
 * ({@link SparseFlashAttention}: mma.sync, and wgmma/TMA on sm_90a in either {@link LaunchOrder} and each of the
 * schedules a single consumer warpgroup can take (plain or overlapped, rescaling eagerly or lazily), either
 * {@link GatherArrival} and 64 or 128 keys a step (128 with the plain or lazy schedule; warp arrivals with the warp
 * release, plain or lazy), paired query blocks and two-block clusters (64 keys, waited gathers, the plain or lazy
 * schedule), persistent
 * blocks (longest first, 64 keys, waited or copy-engine gathers, the plain or lazy schedule; with pairs, waited
 * gathers), range tiles in boxes of 32, 16 or 8 keys (the lazy schedule, 64 keys, each gather arrival; persistent
 * too, longest first, waited or copy-engine gathers: the default is boxes of 16 with copy-engine gathers), with the
 * {@link SlotOrder} passes of the longest-first order, for slots and for pairs) and the estimation
 * and index kernels ({@link GpuIndexBuilder}: vertical-slash tiles on the tensor cores, row statistics, selection,
 * the kept diagonals' runs, the index's counting and assembly passes, its tile count, block pooling, and block-sparse selection for every block
 * capacity it may pick), for {@code io.minference.kernels.catalog.KernelCatalog#with}. Keep it in step with those two
 * classes.
 */
public final class SparseKernels {
    private SparseKernels() {
    }

    public static List<KernelDefinition> forShape(AttentionShape shape) {
        int d = shape.headDim();
        List<KernelDefinition> kernels = new ArrayList<>(List.of(SparseFlashPrefill.forHeadDim(d),
                new SlotOrder(SlotOrder.Pass.TILES), new SlotOrder(SlotOrder.Pass.ORDER),
                new SlotOrder(SlotOrder.Pass.TILES, true), new SlotOrder(SlotOrder.Pass.ORDER, true),
                new VerticalSlashTile(d, VerticalSlashTile.Mode.ROW_STATS, true),
                new VerticalSlashTile(d, VerticalSlashTile.Mode.SCORES, true), new VerticalSlashRowStats(),
                new VerticalSlashSelect(), new VerticalSlashRuns(), new IndexAssembly(true), new IndexAssembly(false),
                new SlotOffsets(), new IndexTiles(),
                new IndexKeys(), new BlockPool(d)));
        kernels.add(HopperSparseFlashPrefill.forHeadDim(d, HopperSparseFlashPrefill.Variant.DEFAULT
                .withOrder(LaunchOrder.HEAD_MAJOR)));
        for (LaunchOrder order : List.of(LaunchOrder.LAST_FIRST, LaunchOrder.LONGEST_FIRST)) {
            for (String schedule : List.of("plain", "overlap", "lazy", "overlap,lazy")) {
                for (GatherArrival gather : List.of(GatherArrival.WAIT, GatherArrival.ASYNC)) {
                    HopperSparseFlashPrefill.Variant variant = HopperSparseFlashPrefill.Variant.BASELINE.withOrder(order)
                            .withSchedule(HopperFlashLoop.Schedule.parse(schedule)).withGather(gather);
                    kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant));
                    if (!variant.schedule().overlapSoftmax()) { // two consumers splitting the keys: plain or lazy
                        if (order == LaunchOrder.LONGEST_FIRST) { // persistent blocks walk the sorted list
                            kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withPersistent(true)));
                        }
                        kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withKeysPerStep(128)));
                        if (gather == GatherArrival.WAIT) {
                            kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withPairs(true)));
                            kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withCluster(true)));
                            if (order == LaunchOrder.LONGEST_FIRST) {
                                kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withPairs(true)
                                        .withPersistent(true)));
                            }
                        }
                    }
                }
            }
            // one arrival per warp, producers and consumers: with the plain and lazy schedules, 64 or 128 keys
            for (String schedule : List.of("warp", "lazy,warp")) {
                HopperSparseFlashPrefill.Variant variant = HopperSparseFlashPrefill.Variant.BASELINE.withOrder(order)
                        .withSchedule(HopperFlashLoop.Schedule.parse(schedule)).withGather(GatherArrival.WARP);
                kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant));
                kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withKeysPerStep(128)));
            }
            // range tiles in boxes (the default takes boxes of 16 with the copy engine's arrivals and the
            // overlap,lazy schedule): the lazy schedule at 64 keys a step, each gather arrival, persistent blocks
            // where they walk the sorted list; boxes of 16 also with overlap,lazy
            for (int box : List.of(32, 16, 8)) {
                for (GatherArrival gather : GatherArrival.values()) {
                    HopperSparseFlashPrefill.Variant variant = HopperSparseFlashPrefill.Variant.BASELINE
                            .withOrder(order).withGather(gather).withRangeBox(box).withSchedule(
                                    HopperFlashLoop.Schedule.parse(gather == GatherArrival.WARP ? "lazy,warp" : "lazy"));
                    kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant));
                    if (order == LaunchOrder.LONGEST_FIRST && gather != GatherArrival.WARP) {
                        kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withPersistent(true)));
                    }
                    if (box == HopperSparseFlashPrefill.Variant.DEFAULT.rangeBox() && gather != GatherArrival.WARP) {
                        kernels.add(HopperSparseFlashPrefill.forHeadDim(d, variant.withSchedule(
                                HopperSparseFlashPrefill.Variant.DEFAULT.schedule())));
                    }
                }
            }
        }
        for (int blocks = 64; blocks <= BlockSparseSelect.MAX_BLOCKS; blocks *= 2) {
            kernels.add(new BlockSparseSelect(d, blocks));
        }
        return kernels;
    }
}
