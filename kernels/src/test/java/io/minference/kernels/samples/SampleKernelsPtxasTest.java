package io.minference.kernels.samples;

import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every sample kernel, for every target it supports, must assemble with NVIDIA's ptxas (skipped where ptxas is
 * absent); the Hopper ones without a serialised wgmma or an ignored setmaxnreg.
 */
class SampleKernelsPtxasTest {
    static final List<KernelDefinition> SAMPLES = List.of(
            new VectorAdd(),
            new BlockReduceSum(256),
            new WarpReduceSum(),
            new AsyncCopy(),
            new CopyBandwidth(4),
            new RmsNorm(256),
            TileGemm.bf16(),
            new TileGemm(128, 128, 64, 2, 4, 2),
            new TmaTileCopy(128, 128),
            new TmaTileCopy(64, 64),
            new WgmmaTileProduct());

    static Stream<Arguments> samplesAndTargets() {
        return SAMPLES.stream().flatMap(s -> Stream.of(PtxTarget.values()).filter(s::supports)
                .map(t -> Arguments.of(s, t)));
    }

    private static Ptxas ptxas() {
        var found = Ptxas.onPath();
        assumeTrue(found.isPresent(), "ptxas is not on the PATH");
        return found.get();
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("samplesAndTargets")
    void assembles(KernelDefinition sample, PtxTarget target) throws Exception {
        KernelSource source = sample.emit(target);
        Ptxas.Result result = ptxas().assemble(source, true);
        assertEquals(List.of(), result.problems(),
                () -> source.entryName() + " for " + target.arch() + ":\n" + result.log());
        System.out.printf("%-40s %-7s %3d registers%n", source.entryName(), target.arch(), result.registers());
    }

    @ParameterizedTest(name = "tile GEMM on {0}")
    @MethodSource("targets")
    void tileGemmKeepsEverythingInRegisters(PtxTarget target) throws Exception {
        Ptxas.Result result = ptxas().assemble(TileGemm.bf16().emit(target), true);
        assertEquals(List.of(), result.problems(), result::log);
        assertTrue(result.registers() > 0 && result.registers() <= 255, result::log);
    }

    static Stream<PtxTarget> targets() {
        return Stream.of(PtxTarget.values());
    }

    @Test
    void launchContractsMatchTheEmittedSources() {
        TileGemm gemm = TileGemm.bf16();
        KernelSource source = gemm.emit(PtxTarget.SM_90A);
        assertEquals(gemm.sharedBytes(), source.sharedMemoryBytes());
        assertEquals(List.of("a", "b", "c", "m", "n", "k"),
                source.params().stream().map(p -> p.name()).toList());
        assertTrue(source.ptx().contains(".maxntid " + gemm.threads() + ", 1, 1"));
        assertEquals(AsyncCopy.SHARED_BYTES, new AsyncCopy().emit(PtxTarget.SM_80).sharedMemoryBytes());
        assertEquals(0, new VectorAdd().emit(PtxTarget.SM_80).sharedMemoryBytes());
    }
}
