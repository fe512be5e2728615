package io.minference.llama.gpu;

import io.minference.llama.LlamaConfig;
import java.util.Locale;
import java.util.Map;

/**
 * The kernels of a prefill outside attention, as a per-kernel breakdown names them, each with its floor: a GEMM's
 * FLOPs over the tensor-core rate, an elementwise kernel's bytes (read once, written once) over the memory
 * bandwidth. Per token and layer unless said otherwise; the rates are the caller's (the bench takes cuBLASLt's
 * measured bf16 rate and the HBM bandwidth).
 */
public enum LinearKernel {
    /** The token embedding's gather into the f32 residual stream (once per token, not per layer). */
    EMBEDDING("embedding"),
    /** Both RMSNorms of a layer: f32 residual rows in, bf16 GEMM input out. */
    NORM("norms"),
    /** The fused Q/K/V projection. */
    QKV_GEMM("QKV GEMM"),
    /** RoPE on Q and K, with Q's rows written for attention and K, V written to the cache. */
    ROPE_KV_WRITE("RoPE + KV write"),
    /** The attention output projection, added into the residual stream. */
    OUTPUT_GEMM("O GEMM"),
    /** The fused gate/up projection. */
    GATE_UP_GEMM("gate/up GEMM"),
    /** SiLU(gate) * up over the fused gate/up output. */
    SWIGLU("SwiGLU"),
    /** The down projection, added into the residual stream. */
    DOWN_GEMM("down GEMM"),
    /** The final RMSNorm and the classifier of the positions whose logits are kept (per kept row, not per layer). */
    LM_HEAD("LM head");

    /** cuBLASLt's bf16 GEMM rate measured on an H200 at 8192³ (BENCHMARKS.md), the GEMMs' floor. */
    public static final double H200_GEMM_FLOPS = 780e12;
    /** An H200's HBM3e bandwidth, the elementwise kernels' floor. */
    public static final double H200_BYTES_PER_SECOND = 4.8e12;

    private final String label;

    LinearKernel(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Whether the floor is the tensor cores' (a GEMM) rather than memory's. */
    public boolean gemm() {
        return this == QKV_GEMM || this == OUTPUT_GEMM || this == GATE_UP_GEMM || this == DOWN_GEMM
                || this == LM_HEAD;
    }

    /**
     * The floor in seconds of this kernel's share of a prefill of {@code tokens} tokens keeping {@code keptLogits}
     * rows of logits: FLOPs at {@code flopsPerSecond} for a GEMM (the LM head's weight read at
     * {@code bytesPerSecond} when that is longer), bytes at {@code bytesPerSecond} otherwise.
     */
    public double floorSeconds(LlamaConfig c, long tokens, long keptLogits, double flopsPerSecond,
                               double bytesPerSecond) {
        double dim = c.dim(), qDim = (double) c.numHeads() * c.headDim(), kvDim = c.kvDim(), hidden = c.hiddenDim();
        double layerTokens = (double) tokens * c.numLayers();
        return switch (this) {
            case EMBEDDING -> tokens * (2 * dim + 4 * dim) / bytesPerSecond;
            case NORM -> layerTokens * 2 * (4 * dim + 2 * dim) / bytesPerSecond;
            case QKV_GEMM -> layerTokens * 2 * dim * (qDim + 2 * kvDim) / flopsPerSecond;
            case ROPE_KV_WRITE -> layerTokens * 2 * ((qDim + 2 * kvDim) + (qDim + 2 * kvDim)) / bytesPerSecond;
            case OUTPUT_GEMM -> layerTokens * 2 * qDim * dim / flopsPerSecond;
            case GATE_UP_GEMM -> layerTokens * 2 * dim * 2 * hidden / flopsPerSecond;
            case SWIGLU -> layerTokens * 2 * (2 * hidden + hidden) / bytesPerSecond;
            case DOWN_GEMM -> layerTokens * 2 * hidden * dim / flopsPerSecond;
            case LM_HEAD -> Math.max(keptLogits * 2 * dim * c.vocabSize() / flopsPerSecond,
                    2 * dim * c.vocabSize() / bytesPerSecond);
        };
    }

    /**
     * One line of device seconds per kernel beside its floor at the H200's rates, then their sum beside the sum of
     * floors: "outside attention, seconds (floor): embedding 0.001 (0.001), ..., sum 2.71 s (floor 2.49 s, 1.09x)".
     * Empty when every kernel's time is zero (nothing was marked).
     */
    public static String breakdown(LlamaConfig c, long tokens, long keptLogits, Map<LinearKernel, Double> seconds) {
        double total = 0, floors = 0;
        StringBuilder line = new StringBuilder("outside attention, seconds (floor):");
        for (LinearKernel kernel : values()) {
            double s = seconds.getOrDefault(kernel, 0.0);
            double floor = kernel.floorSeconds(c, tokens, keptLogits, H200_GEMM_FLOPS, H200_BYTES_PER_SECOND);
            total += s;
            floors += floor;
            line.append(String.format(Locale.ROOT, " %s %.3f (%.3f),", kernel.label(), s, floor));
        }
        if (total == 0) return "";
        return line.append(String.format(Locale.ROOT, " sum %.3f s (floor %.3f s, %.2fx)", total, floors,
                total / floors)).toString();
    }
}
