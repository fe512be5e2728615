package io.minference.ptx.dsl;

import io.minference.ptx.KernelParam;
import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Hopper instruction families (mbarrier, TMA, wgmma, setmaxnreg, proxy fences) in one warp-specialized kernel:
 * a producer warpgroup that loads tiles with TMA and two consumer warpgroups that multiply them with wgmma, A from
 * shared memory and from registers, B K-major and MN-major. It must assemble for sm_90a with no serialised wgmma and
 * no ignored setmaxnreg.
 */
class HopperInstructionsTest {
    /** The probe: {@code columns} is the wgmma N. */
    record WarpSpecializedProbe(int columns) implements KernelDefinition {
        @Override
        public String entryName() {
            return "hopper_probe_n" + columns;
        }

        @Override
        public PtxTarget minimumTarget() {
            return PtxTarget.SM_90A;
        }

        @Override
        public void define(KernelBuilder k) {
            TensorMapParam tiles = k.tensorMapParam("tiles");
            TensorMapParam volume = k.tensorMapParam("volume");
            U64 out = k.pointerParam("out");
            k.maxThreadsPerBlock(384);
            k.minBlocksPerSm(1);
            int tileBytes = 64 * 128;
            U32 smem = k.dynamicShared(4 * tileBytes, 1024);
            U32 barriers = k.sharedArray("barriers", 2 * MBarrier.BYTES);
            MBarrier full = new MBarrier(barriers);
            MBarrier done = new MBarrier(k.add(barriers, MBarrier.BYTES));
            U32 tid = k.threadIdx();
            k.ifThen(k.eq(tid, 0), () -> {
                k.initBarrier(full, 1);
                k.initBarrier(done, 256);
                k.fenceBarrierInit();
            });
            k.barrier();
            U32 warpgroup = k.shr(tid, 7);
            k.ifElse(k.eq(warpgroup, 0), () -> {
                k.decreaseRegisters(24);
                k.ifThen(k.eq(tid, 0), () -> {
                    k.prefetchTensorMap(tiles);
                    k.prefetchToL2(Address.global(out), 256);
                    k.arriveExpectingBytes(full, 4 * tileBytes);
                    U32 zero = k.u32(0);
                    k.loadTile(Address.shared(smem), tiles, full, zero, zero);
                    k.loadTile(Address.shared(k.add(smem, tileBytes)), volume, full, zero, zero, zero);
                    k.loadTile(Address.shared(k.add(smem, 2 * tileBytes)), volume, full, zero, k.u32(1), zero, zero);
                    k.loadTile(Address.shared(k.add(smem, 3 * tileBytes)), volume, full, zero, zero, k.u32(2), zero,
                            zero);
                });
            }, () -> {
                k.increaseRegisters(240);
                k.waitPhase(full, k.u32(0));
                WarpgroupAccumulator acc = k.warpgroupAccumulator("acc", columns);
                MatrixDescriptor a = k.kMajor128(smem);
                MatrixDescriptor b = k.kMajor128(k.add(smem, tileBytes));
                MatrixDescriptor v = k.mnMajor128(k.add(smem, 2 * tileBytes), tileBytes);
                k.wgmmaFence();
                for (int kStep = 0; kStep < 4; kStep++) {
                    k.wgmma(acc, HalfType.BF16, k.advance(a, 32 * kStep), k.advance(b, 32 * kStep), kStep > 0,
                            false);
                }
                k.wgmmaCommit();
                k.wgmmaWait(0);
                FragmentC[] fragments = acc.fragments();
                FragmentA<Bf16x2> p = new FragmentA<>(List.of(
                        k.packBf16(fragments[0].regs().get(0), fragments[0].regs().get(1)),
                        k.packBf16(fragments[0].regs().get(2), fragments[0].regs().get(3)),
                        k.packBf16(fragments[1].regs().get(0), fragments[1].regs().get(1)),
                        k.packBf16(fragments[1].regs().get(2), fragments[1].regs().get(3))));
                WarpgroupAccumulator o = k.warpgroupAccumulator("o", columns);
                k.wgmmaFence();
                k.wgmma(o, p, v, true, true);
                k.wgmma(o, p, k.advance(v, 2048), true, true);
                k.wgmmaCommit();
                k.wgmmaWait(0);
                U32 consumer = k.sub(tid, 128);
                for (int r = 0; r < o.regs().size(); r++) {
                    k.store(k.element(out, k.add(k.mul(consumer, o.regs().size()), r), 4), o.regs().get(r));
                }
                k.storeVector(Address.shared(k.add(smem, k.mul(consumer, 16))), o.regs().get(0), o.regs().get(1),
                        o.regs().get(2), o.regs().get(3));
                k.fenceProxyAsyncShared();
                k.barrier(1, 256);
                k.arrive(done);
            });
        }
    }

    @Test
    void emitsTheHopperInstructions() {
        KernelSource source = new WarpSpecializedProbe(128).emit(PtxTarget.SM_90A);
        String ptx = source.ptx();
        for (String expected : List.of(
                ".param .align 64 .b8 param_tiles[128]",
                ".extern .shared .align 1024 .b8 dynamic_smem[]",
                "cvta.param.u64",
                "mbarrier.init.shared::cta.b64",
                "fence.mbarrier_init.release.cluster",
                "mbarrier.arrive.expect_tx.shared::cta.b64",
                "mbarrier.try_wait.parity.shared::cta.b64",
                "mbarrier.arrive.shared::cta.b64",
                "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes",
                "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes",
                "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes",
                "cp.async.bulk.tensor.5d.shared::cluster.global.mbarrier::complete_tx::bytes",
                "prefetch.tensormap",
                "cp.async.bulk.prefetch.L2.global [%out_global], 256;",
                "setmaxnreg.dec.sync.aligned.u32 24",
                "setmaxnreg.inc.sync.aligned.u32 240",
                "wgmma.fence.sync.aligned",
                "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16",
                "wgmma.commit_group.sync.aligned",
                "wgmma.wait_group.sync.aligned 0",
                "fence.proxy.async.shared::cta",
                "bar.sync 1, 256")) {
            assertTrue(ptx.contains(expected), () -> "missing " + expected + " in\n" + ptx);
        }
        assertEquals(List.of(KernelParam.TENSOR_MAP, KernelParam.TENSOR_MAP, "u64"),
                source.params().stream().map(KernelParam::type).toList());
        assertEquals(128, source.params().getFirst().byteSize());
        assertEquals(64, source.params().getFirst().alignment());
    }

    @ParameterizedTest(name = "n{0}")
    @ValueSource(ints = {64, 128})
    void assemblesForSm90aWithoutSlowPathAdvisories(int columns) throws Exception {
        var ptxas = Ptxas.onPath();
        assumeTrue(ptxas.isPresent(), "ptxas is not on the PATH");
        KernelSource source = new WarpSpecializedProbe(columns).emit(PtxTarget.SM_90A);
        Ptxas.Result result = ptxas.get().assemble(source, true);
        System.out.println(result.log());
        assertTrue(result.succeeded(), () -> "ptxas rejected the probe:\n" + result.log() + "\n" + source.ptx());
        assertEquals(List.of(), result.slowPathAdvisories(), result::log);
        assertEquals(0, result.spillBytes(), result::log);
    }

    @Test
    void hopperKernelsAreNotEmittedForOlderTargets() {
        var e = assertThrows(IllegalArgumentException.class, () -> new WarpSpecializedProbe(64).emit(PtxTarget.SM_80));
        assertTrue(e.getMessage().contains("needs sm_90a"), e.getMessage());
    }

    @Test
    void rejectsMisuseWithClearMessages() {
        KernelBuilder k = new KernelBuilder("misuse", PtxTarget.SM_90A);
        U32 address = k.u32Param("address");
        assertThrows(IllegalArgumentException.class, () -> k.increaseRegisters(20));
        assertThrows(IllegalArgumentException.class, () -> k.decreaseRegisters(100));
        assertThrows(IllegalArgumentException.class, () -> k.wgmmaWait(8));
        assertThrows(IllegalArgumentException.class, () -> k.warpgroupAccumulator("acc", 100));
        assertThrows(IllegalArgumentException.class, () -> k.initBarrier(new MBarrier(address), 0));
        assertThrows(IllegalArgumentException.class, () -> k.swizzled128(address, 8, 1024));
        assertThrows(IllegalArgumentException.class, () -> k.dynamicShared(1024, 48));
        TensorMapParam map = k.tensorMapParam("map");
        assertThrows(IllegalArgumentException.class, () -> k.loadTile(Address.shared(address), map,
                new MBarrier(address)));
        assertThrows(IllegalArgumentException.class, () -> k.barrier(16, 32));
        U64 rows = k.pointerParam("rows");
        var shared = assertThrows(IllegalArgumentException.class, () -> k.prefetchToL2(Address.shared(address), 256));
        assertTrue(shared.getMessage().contains("global"), shared.getMessage());
        var odd = assertThrows(IllegalArgumentException.class, () -> k.prefetchToL2(Address.global(rows), 20));
        assertTrue(odd.getMessage().contains("multiple of 16"), odd.getMessage());
    }

    @Test
    void accumulatorLayoutMatchesTheMmaFragmentsOfEachWarp() {
        // thread 37 is lane 5 of warp 1: rows 16 + 1 and 16 + 9, column pair 2, 3 of each 8-column fragment
        assertEquals(17, WarpgroupAccumulator.row(37, 0));
        assertEquals(25, WarpgroupAccumulator.row(37, 2));
        assertEquals(2, WarpgroupAccumulator.col(37, 0));
        assertEquals(8 + 3, WarpgroupAccumulator.col(37, 5));
    }
}
