package io.minference.ptx.dsl;

import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cluster instructions (sm_90), each in a small kernel of a two-CTA cluster: the rank, the cluster shape
 * directive, mapa, a remote mbarrier arrival, the cluster barrier, the cluster-scope try_wait and the multicast TMA
 * load. Each must emit its exact PTX and assemble for sm_90a.
 */
class ClusterInstructionsTest {
    /** One primitive, what it emits, and the probe body that uses it (barriers set up and the cluster met). */
    enum Primitive {
        RANK("mov.u32 %clusterRank, %cluster_ctarank;", (k, p) -> k.store(Address.global(p.out()), k.clusterRank())),
        SIZE("mov.u32 %clusterSize, %cluster_nctarank;", (k, p) -> k.store(Address.global(p.out()), k.clusterSize())),
        MAPA("mapa.shared::cluster.u32 %peerAddress, %smem, %peer;",
                (k, p) -> k.store(Address.global(p.out()), k.mapShared(p.smem(), p.peer()))),
        REMOTE_ARRIVE("mbarrier.arrive.shared::cluster.b64 _, [%peerAddress];",
                (k, p) -> k.ifThen(k.eq(k.threadIdx(), 0),
                        () -> k.arriveRemote(k.mapShared(p.barrier().address(), p.peer())))),
        WARP_ARRIVE_IN_CLUSTER("@%laneZero mbarrier.arrive.shared::cluster.b64 _, [%peerAddress];",
                (k, p) -> k.ifThen(k.lt(k.threadIdx(), 32),
                        () -> k.arriveForWarpInCluster(p.barrier(), k.laneId(), p.peer()))),
        MULTICAST("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster"
                + " [%smem], [%tiles, {0, 0}], [%barriers], %ctaMask;", (k, p) -> {
            k.ifThen(k.eq(k.threadIdx(), 0), () -> {
                k.arriveExpectingBytes(p.barrier(), 2 * TILE_BYTES);
                U32 zero = k.u32(0);
                k.ifThen(k.eq(k.clusterRank(), 0), () -> k.loadTileMulticast(Address.shared(p.smem()), p.tiles(),
                        p.barrier(), k.ctaMask(0b11), zero, zero));
                k.ifThen(k.eq(k.clusterRank(), 1), () -> k.loadTileMulticast(Address.shared(
                        k.add(p.smem(), TILE_BYTES)), p.tiles(), p.barrier(), k.ctaMask(0b11), zero, k.u32(64)));
            });
            k.waitPhase(p.barrier(), k.u32(0));
            k.store(Address.global(p.out()), k.loadF32(Address.shared(p.smem())));
        }),
        CLUSTER_BARRIER("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;",
                (k, p) -> k.clusterBarrier());

        final String expected;
        final Body body;

        Primitive(String expected, Body body) {
            this.expected = expected;
            this.body = body;
        }
    }

    static final int TILE_BYTES = 64 * 128;

    /** What a probe body may use. */
    record Probe(U32 smem, MBarrier barrier, U32 peer, TensorMapParam tiles, U64 out) {
    }

    @FunctionalInterface
    interface Body {
        void emit(KernelBuilder k, Probe probe);
    }

    /** A two-CTA cluster kernel: barrier init, fence, cluster barrier, the primitive, cluster barrier, exit. */
    record ClusterProbe(Primitive primitive) implements KernelDefinition {
        @Override
        public String entryName() {
            return "cluster_probe_" + primitive.name().toLowerCase();
        }

        @Override
        public PtxTarget minimumTarget() {
            return PtxTarget.SM_90A;
        }

        @Override
        public void define(KernelBuilder k) {
            TensorMapParam tiles = k.tensorMapParam("tiles");
            U64 out = k.pointerParam("out");
            k.maxThreadsPerBlock(128);
            k.clusterShape(2, 1, 1);
            U32 smem = k.dynamicShared(2 * TILE_BYTES, 1024);
            U32 barriers = k.sharedArray("barriers", MBarrier.BYTES);
            MBarrier barrier = new MBarrier(barriers);
            U32 peer = k.xor(k.clusterRank(), 1).named("peer");
            k.ifThen(k.eq(k.threadIdx(), 0), () -> {
                k.initBarrier(barrier, 1);
                k.fenceBarrierInit();
            });
            k.clusterBarrier();
            primitive.body.emit(k, new Probe(smem, barrier, peer, tiles, out));
            k.clusterBarrier();
        }
    }

    @ParameterizedTest
    @EnumSource(Primitive.class)
    void emitsTheClusterInstruction(Primitive primitive) {
        String ptx = new ClusterProbe(primitive).emit(PtxTarget.SM_90A).ptx();
        assertTrue(ptx.contains(primitive.expected), () -> "missing " + primitive.expected + " in\n" + ptx);
        assertTrue(ptx.contains(".maxntid 128, 1, 1\n.reqnctapercluster 2, 1, 1\n"), ptx);
    }

    @ParameterizedTest
    @EnumSource(Primitive.class)
    void assemblesForSm90a(Primitive primitive) throws Exception {
        var ptxas = Ptxas.onPath();
        assumeTrue(ptxas.isPresent(), "ptxas is not on the PATH");
        KernelSource source = new ClusterProbe(primitive).emit(PtxTarget.SM_90A);
        Ptxas.Result result = ptxas.get().assemble(source, true);
        assertTrue(result.succeeded(), () -> "ptxas rejected the probe:\n" + result.log() + "\n" + source.ptx());
    }

    @Test
    void rejectsMisuse() {
        KernelBuilder k = new KernelBuilder("misuse", PtxTarget.SM_90A);
        assertThrows(IllegalArgumentException.class, () -> k.clusterShape(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> k.clusterShape(4, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> k.ctaMask(0));
    }
}
