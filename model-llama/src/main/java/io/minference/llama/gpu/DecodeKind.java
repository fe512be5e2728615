package io.minference.llama.gpu;

/**
 * The kinds of work in one decode step, as {@link GpuLlamaForward#profileDecodeStep} breaks its device time down:
 * the weight GEMVs (one token: each reads its weight matrix of every layer once), the split-K attention over the
 * cache and its combine, and the small kernels around them.
 */
public enum DecodeKind {
    EMBEDDING("embedding"),
    NORMS("RMSNorms"),
    QKV_GEMV("QKV GEMV"),
    ROPE_KV_WRITE("RoPE + KV write"),
    ATTENTION("split-K attention"),
    COMBINE("split combine"),
    O_GEMV("output GEMV"),
    GATE_UP_GEMV("gate/up GEMV"),
    SWIGLU("SwiGLU"),
    DOWN_GEMV("down GEMV"),
    LM_HEAD("LM head GEMV");

    private final String label;

    DecodeKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
