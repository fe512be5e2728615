package io.minference.ptx;

/** The GPU architectures the DSL emits PTX for. */
public enum PtxTarget {
    /** Ampere (A100): mma.sync, ldmatrix, cp.async. */
    SM_80("sm_80", "8.0"),
    /** Hopper (H100, H200) with its architecture-specific features (wgmma, setmaxnreg). */
    SM_90A("sm_90a", "8.0");

    private final String arch;
    private final String isaVersion;

    PtxTarget(String arch, String isaVersion) {
        this.arch = arch;
        this.isaVersion = isaVersion;
    }

    /** The name for {@code .target} and for {@code ptxas -arch}. */
    public String arch() {
        return arch;
    }

    /** The PTX ISA version written in {@code .version}. */
    public String isaVersion() {
        return isaVersion;
    }

    /** The target for a device of compute capability major.minor: sm_90a for 9.x, else sm_80. */
    public static PtxTarget forComputeCapability(int major, int minor) {
        return major >= 9 ? SM_90A : SM_80;
    }
}
