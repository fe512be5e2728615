package io.minference.kernels.transformer;

import io.minference.kernels.dequant.DequantizeToBf16;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.runtime.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every transformer kernel, in the specializations the forward pass uses, and the weight upload's dequantization
 * kernels must assemble with ptxas for each target.
 */
class TransformerKernelsPtxasTest {
    static final List<KernelDefinition> KERNELS = List.of(
            new EmbeddingGather(),
            RmsNormToBf16.plain(),
            new RopeKvWrite(32, 8, 128),
            new RopeKvWrite(6, 2, 64),
            new RopeKvWrite(8, 4, 8),
            new RopeKvWrite(32, 8, 128).withStartOnDevice(),
            new RopeKvWrite(8, 4, 8).withStartOnDevice(),
            new RopeKvWrite(32, 8, 128).withStartOnDevice().withCacheCodes(KvCodes.INT8),
            new RopeKvWrite(6, 2, 64).withStartOnDevice().withCacheCodes(KvCodes.INT8),
            new RopeKvWrite(32, 8, 128).withStartOnDevice().withCacheCodes(KvCodes.E4M3),
            new RopeKvWrite(6, 2, 64).withStartOnDevice().withCacheCodes(KvCodes.E4M3),
            new KvQuantize(8, 128, KvCodes.INT8),
            new KvQuantize(2, 64, KvCodes.INT8),
            new KvQuantize(8, 128, KvCodes.E4M3),
            new KvQuantize(2, 64, KvCodes.E4M3),
            new SwiGlu(),
            Argmax.wide(),
            new Argmax(256),
            new TopPSample(),
            new SyntheticWeightsKernel(DType.BF16),
            new SyntheticWeightsKernel(DType.F32));

    static Stream<Arguments> kernelsAndTargets() {
        return Stream.concat(KERNELS.stream(), DequantizeToBf16.all().stream()).flatMap(kernel -> Stream.of(PtxTarget.values()).map(t -> Arguments.of(kernel, t)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("kernelsAndTargets")
    void assemblesWithoutSpillsOrStack(KernelDefinition kernel, PtxTarget target) throws Exception {
        var ptxas = Ptxas.onPath();
        assumeTrue(ptxas.isPresent(), "ptxas is not on the PATH");
        KernelSource source = kernel.emit(target);
        Ptxas.Result result = ptxas.get().assemble(source, true);
        assertEquals(List.of(), result.problems(), () -> source.entryName() + " for " + target.arch() + ":\n"
                + result.log() + (result.succeeded() ? "" : "\n" + source.ptx()));
        assertEquals(0, source.sharedMemoryBytes(), "these kernels take no dynamic shared memory");
        System.out.printf("%-40s %-7s %3d registers%n", source.entryName(), target.arch(), result.registers());
    }
}
