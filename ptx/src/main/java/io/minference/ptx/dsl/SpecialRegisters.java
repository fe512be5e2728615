package io.minference.ptx.dsl;

/** Thread, block and lane indices, named as CUDA C names them. */
public interface SpecialRegisters extends Values {
    /** The axis of a 3-dimensional index. */
    enum Axis { X, Y, Z }

    private U32 read(String hint, String special) {
        U32 d = emitter().declare(new U32(hint));
        emitter().instruction("mov.u32", d, special);
        return d;
    }

    default U32 threadIdx() {
        return threadIdx(Axis.X);
    }

    default U32 threadIdx(Axis axis) {
        return read("threadIdx", "%tid." + axis.name().toLowerCase());
    }

    default U32 blockIdx() {
        return blockIdx(Axis.X);
    }

    default U32 blockIdx(Axis axis) {
        return read("blockIdx", "%ctaid." + axis.name().toLowerCase());
    }

    default U32 blockDim() {
        return blockDim(Axis.X);
    }

    default U32 blockDim(Axis axis) {
        return read("blockDim", "%ntid." + axis.name().toLowerCase());
    }

    default U32 gridDim() {
        return gridDim(Axis.X);
    }

    default U32 gridDim(Axis axis) {
        return read("gridDim", "%nctaid." + axis.name().toLowerCase());
    }

    /**
     * {@code %cluster_ctarank} (sm_90): this CTA's rank within its cluster ({@link KernelBuilder#clusterShape}),
     * 0 up to the cluster's size less one; what names a peer CTA for {@link Clusters#mapShared} and a multicast's
     * mask ({@link TensorCopy#loadTileMulticast}). 0 in a kernel without clusters.
     */
    default U32 clusterRank() {
        return read("clusterRank", "%cluster_ctarank");
    }

    /** {@code %cluster_nctarank} (sm_90): the CTAs of this CTA's cluster, 1 in a kernel without clusters. */
    default U32 clusterSize() {
        return read("clusterSize", "%cluster_nctarank");
    }

    /** The lane (0..31) within the warp. */
    default U32 laneId() {
        return read("lane", "%laneid");
    }

    /** The lanes below the calling one, as a bit mask ({@code %lanemask_lt}). */
    default U32 lanesBelow() {
        return read("lanesBelow", "%lanemask_lt");
    }
}
