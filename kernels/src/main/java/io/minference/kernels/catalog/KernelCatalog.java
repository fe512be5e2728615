package io.minference.kernels.catalog;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.dequant.DequantizeToBf16;
import io.minference.kernels.flash.FlashAttention;
import io.minference.kernels.flash.GroupedFlashDecode;
import io.minference.kernels.flash.PrefillKernel;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvQuantize;
import io.minference.kernels.transformer.Argmax;
import io.minference.kernels.transformer.EmbeddingGather;
import io.minference.kernels.transformer.RmsNormToBf16;
import io.minference.kernels.transformer.RopeKvWrite;
import io.minference.kernels.transformer.SwiGlu;
import io.minference.kernels.transformer.SyntheticWeightsKernel;
import io.minference.kernels.transformer.TopPSample;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.runtime.DType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel specializations the runtime launches for one attention shape, by target: the dense layer's
 * (embedding, norms, RoPE with the KV write, SwiGLU, sampling, synthetic weights, the 8-bit KV
 * cache's quantization, step write and decode for each code format (e4m3 and int8), which convert with integer
 * operations on every target but for e4m3's decode on sm_90a (the conversion instruction), and the weight
 * upload's expansion of each block type to bf16) and attention's as {@link FlashAttention.Specializations} chooses them, for every prefill family a setting can select (the mma.sync
 * prefill, and the Hopper one, which only sm_90a includes). Other modules add theirs with {@link #with}. Kernels whose
 * {@link KernelDefinition#minimumTarget()} is newer than the target are set apart ({@link #skipped}), not emitted.
 *
 * @param target   the architecture
 * @param included the kernels emitted for it, one per entry name, in catalog order
 * @param skipped  the kernels that need a newer target
 */
public record KernelCatalog(PtxTarget target, List<KernelDefinition> included, List<KernelDefinition> skipped) {
    public KernelCatalog {
        included = List.copyOf(included);
        skipped = List.copyOf(skipped);
    }

    /** The dense model's kernels for {@code shape} on {@code target}. */
    public static KernelCatalog dense(AttentionShape shape, PtxTarget target) {
        List<KernelDefinition> kernels = new ArrayList<>();
        kernels.addAll(FlashAttention.Specializations.of(shape, target, PrefillKernel.MMA_SYNC).all());
        // what sm_90 devices run: listed for every target, so that an older one's dump says it left them out
        kernels.addAll(FlashAttention.Specializations.of(shape, PtxTarget.SM_90A, PrefillKernel.AUTO).all());
        RopeKvWrite rope = new RopeKvWrite(shape.numHeads(), shape.numKvHeads(), shape.headDim());
        // no residual add kernel: the forward adds the output and down GEMMs into the residual stream in cuBLASLt
        kernels.addAll(List.of(new EmbeddingGather(), RmsNormToBf16.plain(), rope,
                rope.withStartOnDevice(), new SwiGlu(), Argmax.wide(), new TopPSample(),
                new SyntheticWeightsKernel(DType.BF16),
                new SyntheticWeightsKernel(DType.F32)));
        kernels.addAll(DequantizeToBf16.all());
        for (KvCodes codes : KvCodes.values()) {
            kernels.add(new KvQuantize(shape.numKvHeads(), shape.headDim(), codes));
            kernels.add(rope.withStartOnDevice().withCacheCodes(codes));
            if (FlashAttention.supportsCodedCache(shape)) {
                // the configured loop: e4m3 is converted by the instruction on sm_90a (by default), else by integers
                kernels.add(new GroupedFlashDecode(shape.headDim(), shape.groupSize(), true, codes));
            }
        }
        return of(target, kernels);
    }

    /** This catalog with {@code more} kernels added (duplicates by entry name dropped). */
    public KernelCatalog with(List<? extends KernelDefinition> more) {
        List<KernelDefinition> all = new ArrayList<>(included);
        all.addAll(skipped);
        all.addAll(more);
        return of(target, all);
    }

    private static KernelCatalog of(PtxTarget target, List<? extends KernelDefinition> kernels) {
        Map<String, KernelDefinition> byName = new LinkedHashMap<>();
        for (KernelDefinition kernel : kernels) {
            byName.putIfAbsent(kernel.entryName(), kernel);
        }
        List<KernelDefinition> included = new ArrayList<>();
        List<KernelDefinition> skipped = new ArrayList<>();
        for (KernelDefinition kernel : byName.values()) {
            (kernel.supports(target) ? included : skipped).add(kernel);
        }
        return new KernelCatalog(target, included, skipped);
    }
}
