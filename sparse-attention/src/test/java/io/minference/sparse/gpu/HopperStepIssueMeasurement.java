package io.minference.sparse.gpu;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.flash.AttentionProblem;
import io.minference.kernels.flash.EmulatedPrefillInputs;
import io.minference.kernels.flash.HopperFlashLoop;
import io.minference.kernels.flash.HopperFlashPrefill;
import io.minference.ptx.PtxTarget;
import io.minference.sparse.SparseIndex;
import io.minference.sparse.gpu.SparseAttentionChecks.Problem;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Instructions a Hopper flash kernel's warps issue per key step, counted in {@link WarpEmulator} (deterministic, no
 * GPU): one block, the last query block of a prompt of two lengths, and the difference divided by the difference in
 * steps, so that what a block pays once (barrier set-up, the Q load, the epilogue) drops out. Per role: a producer
 * warp and a consumer warp, each averaged over its warpgroup's four, with the opcodes that make up most of it. The
 * dense kernel with 128-key and with 64-key steps, and with 64 query rows a block (the sparse kernel's geometry),
 * beside the sparse one (64 keys a step, a dense index, so that every step is a whole range tile as in the dense
 * kernel), and the sparse variants (range tiles in boxes of 16 and 8 keys among them: the dense index's one range a
 * slot walked box by box), and the sparse kernel with every key a gathered column, per gather arrival.
 * <p>Why it matters: an SM's four schedulers issue one instruction a cycle each (warp w of a block on scheduler w
 * mod 4, so producer warp w shares its scheduler with consumer warp w + 4 and the other block's two: the busiest
 * producer warp is printed beside the average), and its tensor cores take about 512 cycles for a 64 x 64 x 128
 * step's two GEMMs (2.1 MFLOP at about 4,100 bf16 FLOP a cycle). With two consumer and two producer warpgroups on
 * an SM, each scheduler holds one warp of each, so per 1,024 cycles (the two consumers' steps at the tensor cores'
 * rate) it must issue two consumer warps' step and the producers' share: a step of more than about 400 instructions
 * per consumer warp leaves the tensor cores waiting on issue alone. Not a check: it runs with {@code
 * -Dminference.issue.measure=true} and prints its table.
 */
class HopperStepIssueMeasurement {
    private static final int SHORT = 1024;
    private static final int LONG = 2048;

    @Test
    void instructionsPerKeyStep() {
        assumeTrue(Boolean.getBoolean("minference.issue.measure"), "a measurement: -Dminference.issue.measure=true");
        AttentionShape shape = new AttentionShape(4, 2, 128);
        System.out.println("instructions per key step and warp (consumer / producer), the consumer's largest opcodes");
        for (HopperFlashPrefill dense : List.of(new HopperFlashPrefill(128, 128, 2), new HopperFlashPrefill(128, 64, 3),
                new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.PLAIN),
                new HopperFlashPrefill(128, 64, 64, 3, HopperFlashLoop.Schedule.parse("lazy")))) {
            int blockN = dense.blockN();
            report(dense.entryName() + " (" + blockN + " keys a step, " + dense.blockM() + " query rows)",
                    perStep(length -> runDense(dense, shape, length), blockN), blockN / 64.0);
        }
        HopperSparseFlashPrefill.Variant base = HopperSparseFlashPrefill.Variant.BASELINE
                .withOrder(LaunchOrder.LAST_FIRST);
        for (HopperSparseFlashPrefill.Variant variant : List.of(base,
                base.withSchedule(HopperFlashLoop.Schedule.PLAIN),
                base.withSchedule(HopperFlashLoop.Schedule.parse("overlap")),
                base.withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("warp")),
                base.withGather(GatherArrival.WARP).withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp")),
                base.withKeysPerStep(128), base.withRangeBox(16), base.withRangeBox(8),
                base.withRangeBox(16).withGather(GatherArrival.WARP)
                        .withSchedule(HopperFlashLoop.Schedule.parse("lazy,warp")))) {
            HopperSparseFlashPrefill sparse = HopperSparseFlashPrefill.forHeadDim(128, variant);
            int keysPerStep = variant.keysPerStep();
            report(sparse.entryName() + " (" + keysPerStep + " keys a step, 64 query rows)",
                    perStep(length -> runSparse(sparse, shape, length, TestIndexes::dense), keysPerStep),
                    keysPerStep / 64.0);
        }
        // every tile a gathered column tile: what the cp.async gather costs the producer
        for (GatherArrival gather : GatherArrival.values()) {
            HopperSparseFlashPrefill sparse = HopperSparseFlashPrefill.forHeadDim(128, base.withGather(gather)
                    .withSchedule(HopperFlashLoop.Schedule.parse(gather == GatherArrival.WARP ? "lazy,warp" : "lazy")));
            report(sparse.entryName() + " (every key a gathered column)",
                    perStep(length -> runSparse(sparse, shape, length, TestIndexes::denseColumns), 64), 1);
        }
    }

    /** An index over a prompt: {@code (firstHead, heads, length)}. */
    private interface IndexOf {
        SparseIndex of(int firstHead, int heads, int length);
    }

    /** Counts per warp and opcode of one block at a length. */
    private interface Run {
        Map<Integer, Map<String, Long>> at(int length);
    }

    /** (long - short) / (its steps' difference), per warp and opcode; steps of {@code keysPerStep} keys. */
    private static Map<Integer, Map<String, Double>> perStep(Run run, int keysPerStep) {
        Map<Integer, Map<String, Long>> shorter = run.at(SHORT);
        Map<Integer, Map<String, Long>> longer = run.at(LONG);
        double steps = (double) (LONG - SHORT) / keysPerStep;
        Map<Integer, Map<String, Double>> result = new TreeMap<>();
        longer.forEach((warp, counts) -> {
            Map<String, Double> perStep = new TreeMap<>();
            counts.forEach((op, n) -> perStep.put(op, (n - shorter.get(warp).getOrDefault(op, 0L)) / steps));
            result.put(warp, perStep);
        });
        return result;
    }

    /** Warps 0-3 produce, 4 and up consume (one or two warpgroups); per 64 x 64 tile of the step as well. */
    private static void report(String kernel, Map<Integer, Map<String, Double>> perStep, double tilesPerStep) {
        Map<String, Double> consumer = average(perStep, 4, perStep.size());
        Map<String, Double> producer = average(perStep, 0, 4);
        double consumerTotal = consumer.values().stream().mapToDouble(Double::doubleValue).sum();
        double producerTotal = producer.values().stream().mapToDouble(Double::doubleValue).sum();
        StringBuilder top = new StringBuilder();
        consumer.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(10)
                .forEach(e -> top.append(String.format(" %s %.1f", e.getKey(), e.getValue())));
        // each SM scheduler holds one producer warp (warp w, w mod 4) of a block: the busiest one is what may bound
        StringBuilder perWarp = new StringBuilder();
        for (int w = 0; w < 4; w++) {
            double total = perStep.get(w).values().stream().mapToDouble(Double::doubleValue).sum();
            perWarp.append(String.format("%s%.1f", w == 0 ? "" : " / ", total / tilesPerStep));
        }
        System.out.printf("%s: consumer %.1f (%.1f a 64x64 tile), producer %.1f (%.1f a tile; warps 0-3: %s);"
                + " consumer:%s%n", kernel, consumerTotal, consumerTotal / tilesPerStep, producerTotal,
                producerTotal / tilesPerStep, perWarp, top);
    }

    private static Map<String, Double> average(Map<Integer, Map<String, Double>> perStep, int from, int to) {
        Map<String, Double> sum = new TreeMap<>();
        for (int w = from; w < to; w++) {
            perStep.get(w).forEach((op, n) -> sum.merge(op, n, Double::sum));
        }
        sum.replaceAll((op, n) -> n / (to - from));
        return sum;
    }

    private static Map<Integer, Map<String, Long>> runDense(HopperFlashPrefill kernel, AttentionShape shape, int length) {
        AttentionProblem problem = AttentionProblem.random(shape, length, 0, 1);
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_90A).ptx());
        // y = 0 is the last query block (the grid runs last-first)
        gpu.runBlock(EmulatedPrefillInputs.hopper(gpu, kernel, problem),
                new WarpEmulator.Grid(0, 0, shape.numHeads(), kernel.queryBlocks(length)), kernel.threads(),
                kernel.sharedBytes());
        return gpu.issued();
    }

    private static Map<Integer, Map<String, Long>> runSparse(HopperSparseFlashPrefill kernel, AttentionShape shape,
                                                            int length, IndexOf indexOf) {
        Random random = new Random(1);
        Problem problem = Problem.random(shape, length, random);
        SparseIndex index = indexOf.of(0, shape.numHeads(), length);
        WarpEmulator gpu = new WarpEmulator(kernel.emit(PtxTarget.SM_90A).ptx());
        // y = 0 is the last query block (last-first order)
        gpu.runBlock(SparseFlashEmulationTest.hopperInputs(gpu, problem, index, kernel, random),
                new WarpEmulator.Grid(0, 0, index.heads(), SparseFlashEmulationTest.blocksPerHead(index, kernel)),
                kernel.threads(), kernel.sharedBytes());
        return gpu.issued();
    }
}
