package io.minference.ptx.dsl;

/**
 * Thread block clusters (sm_90): the CTAs of a cluster ({@link KernelBuilder#clusterShape}) run at once on
 * neighbouring SMs and may read, write and signal each other's shared memory (distributed shared memory). A kernel
 * uses them to share work between CTAs: one TMA load multicast into several CTAs' shared memory
 * ({@link TensorCopy#loadTileMulticast}), a CTA's consumers releasing a stage on a peer's mbarrier
 * ({@link #arriveRemote}). A shared address of this CTA names the same offset in another CTA once mapped with
 * {@link #mapShared}; the CTA's rank within its cluster is {@link SpecialRegisters#clusterRank()}.
 */
public interface Clusters extends Values {
    /** The arrival on a barrier named by a shared::cluster address, this CTA's or a peer's. */
    String REMOTE_ARRIVE = "mbarrier.arrive.shared::cluster.b64";

    /**
     * {@code mapa.shared::cluster.u32}: the shared::cluster address of the byte at the same offset as
     * {@code address} (a shared address of this CTA) in the shared memory of CTA {@code rank} of the cluster; what
     * {@link #arriveRemote} and the other {@code shared::cluster} accesses take to reach a peer CTA.
     */
    default U32 mapShared(U32 address, U32 rank) {
        U32 mapped = emitter().declare(new U32("peerAddress"));
        emitter().instruction("mapa.shared::cluster.u32", mapped, address, rank);
        return mapped;
    }

    /**
     * {@code mbarrier.arrive.shared::cluster.b64 _, [address]}: this thread's arrival on the barrier at
     * {@code clusterAddress} (a {@link #mapShared} address, possibly another CTA's), with the instruction's default
     * semantics (release at CTA scope, as CUTLASS's cluster pipelines release a stage); a remote arrival returns no
     * state (the sink {@code _}). With release at cluster scope instead ({@code .release.cluster}) and the producer's
     * wait acquiring at cluster scope, the two-block dense prefill ran at 362-384 TFLOP/s on an H100, against 475-558
     * this way (BENCHMARKS.md, "Two-block clusters"): each step's release then waited for the warp's earlier memory
     * accesses to be visible to the whole cluster.
     */
    default void arriveRemote(U32 clusterAddress) {
        emitter().instruction(REMOTE_ARRIVE, "_", Address.shared(clusterAddress));
    }

    /**
     * One arrival for the whole warp on {@code barrier} in this CTA and one on the same barrier in CTA
     * {@code peerRank}: the lanes synchronise ({@code bar.warp.sync}), then lane 0 arrives locally and remotely
     * ({@link #arriveRemote}); a stage two CTAs share is free once both CTAs' warps released it, and
     * arriving per warp keeps the traffic between SMs to one message per warp. Every lane of the warp must call it.
     */
    default void arriveForWarpInCluster(MBarrier barrier, U32 lane, U32 peerRank) {
        U32 remote = mapShared(barrier.address(), peerRank);
        emitter().instruction("bar.warp.sync", "-1");
        Pred first = emitter().declare(new Pred("laneZero"));
        emitter().instruction("setp.eq.u32", first, lane, "0");
        B64 state = emitter().declare(new B64("arrival"));
        emitter().guarded(first, false, "mbarrier.arrive.shared::cta.b64", state, Address.shared(barrier.address()));
        emitter().guarded(first, false, REMOTE_ARRIVE, "_", Address.shared(remote));
    }

    /**
     * {@code barrier.cluster.arrive.release.aligned}: this thread's arrival on the cluster barrier, releasing its
     * earlier memory accesses to the threads that {@link #clusterWait} after it. Every thread of every CTA of the
     * cluster arrives once per phase (aligned: all the warp's threads execute the same instruction).
     */
    default void clusterArrive() {
        emitter().instruction("barrier.cluster.arrive.release.aligned");
    }

    /**
     * {@code barrier.cluster.wait.acquire.aligned}: waits until every thread of the cluster has arrived
     * ({@link #clusterArrive}) on the current phase, acquiring what they released.
     */
    default void clusterWait() {
        emitter().instruction("barrier.cluster.wait.acquire.aligned");
    }

    /**
     * Every thread of every CTA of the cluster meets here ({@link #clusterArrive} then {@link #clusterWait}): after
     * the mbarrier inits (with {@link MBarriers#fenceBarrierInit}), so that no peer arrives on or copies into a
     * barrier before it exists, and before exit, so that no CTA leaves while a peer may still touch its shared
     * memory.
     */
    default void clusterBarrier() {
        clusterArrive();
        clusterWait();
    }
}
