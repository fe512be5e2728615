package io.minference.kernels.flash;

import io.minference.kernels.WarpEmulator;
import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.TensorMap;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The parameters of a dense prefill launch over an {@link AttentionProblem} in {@link WarpEmulator}, as the runtime
 * passes them: Q, K and V uploaded (by pointer for the mma.sync kernel, as {@link TensorMap#headRows} maps for the
 * Hopper one), the output poisoned with NaN under {@code "o"}, and the shape's scalars. Shared by the emulation tests
 * and the instruction counts of other modules (published with the test jar).
 */
public final class EmulatedPrefillInputs {
    private EmulatedPrefillInputs() {
    }

    /** {@link FlashPrefill}'s parameters. */
    public static Map<String, Long> mmaSync(WarpEmulator gpu, AttentionProblem problem) {
        Map<String, Long> params = new HashMap<>();
        params.put("q", gpu.upload(WarpEmulator.bf16Bytes(problem.q())));
        params.put("k", gpu.upload(WarpEmulator.bf16Bytes(problem.k())));
        params.put("v", gpu.upload(WarpEmulator.bf16Bytes(problem.v())));
        return outputAndShape(gpu, problem, params);
    }

    /** {@link HopperFlashPrefill}'s parameters: Q with a box of its block's rows, K and V of its key tile's. */
    public static Map<String, Long> hopper(WarpEmulator gpu, HopperFlashPrefill kernel, AttentionProblem problem) {
        AttentionShape shape = problem.shape();
        int headDim = shape.headDim();
        int rows = problem.start() + problem.count();
        Map<String, Long> params = new HashMap<>();
        params.put("q", gpu.tensorMap(gpu.upload(WarpEmulator.bf16Bytes(problem.q())),
                TensorMap.Shape.headRows(problem.count(), shape.numHeads(), headDim, kernel.blockM())));
        params.put("k", gpu.tensorMap(gpu.upload(WarpEmulator.bf16Bytes(problem.k())),
                TensorMap.Shape.headRows(rows, shape.numKvHeads(), headDim, kernel.blockN())));
        params.put("v", gpu.tensorMap(gpu.upload(WarpEmulator.bf16Bytes(problem.v())),
                TensorMap.Shape.headRows(rows, shape.numKvHeads(), headDim, kernel.blockN())));
        return outputAndShape(gpu, problem, params);
    }

    /** The output (poisoned with NaN) and the launch's shape parameters, added to {@code params}. */
    private static Map<String, Long> outputAndShape(WarpEmulator gpu, AttentionProblem problem,
                                                    Map<String, Long> params) {
        AttentionShape shape = problem.shape();
        float[] poison = new float[problem.count() * shape.queryDim()];
        Arrays.fill(poison, Float.NaN);
        params.put("o", gpu.upload(WarpEmulator.bf16Bytes(poison)));
        params.put("count", (long) problem.count());
        params.put("start", (long) problem.start());
        params.put("numHeads", (long) shape.numHeads());
        params.put("numKvHeads", (long) shape.numKvHeads());
        params.put("scale", (long) Float.floatToRawIntBits(FlashAttention.log2Scale(shape.headDim())));
        return params;
    }
}
