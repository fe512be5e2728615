package io.minference.kernels.flash;

import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;

import static io.minference.ptx.dsl.Address.global;

/**
 * What the two split-K decode kernels ({@link FlashDecode}, {@link GroupedFlashDecode}) share: their parameters, in
 * the order {@link FlashDecode} documents, and the warp's split of the keys, {@code [firstKey, endKey)}: warp w of
 * block (x, y) is split {@code y * splitsPerBlock + w} of {@code gridDim.y * splitsPerBlock}.
 */
record DecodeSplit(U64 q, U64 k, U64 v, U64 partials, U32 numHeads, U32 numKvHeads, F32 scale, U32 length,
                   U32 split, U32 splits, U32 kvRowBytes, U32 firstKey, U32 endKey) {

    static DecodeSplit declare(KernelBuilder k, int headDim, boolean lengthOnDevice, int splitsPerBlock) {
        U64 q = k.pointerParam("q");
        U64 kCache = k.pointerParam("k");
        U64 vCache = k.pointerParam("v");
        U64 partials = k.pointerParam("partials");
        U64 lengthAt = lengthOnDevice ? k.pointerParam("lengthAt") : null;
        U32 lengthParam = lengthOnDevice ? null : k.u32Param("length");
        U32 numHeads = k.u32Param("numHeads");
        U32 numKvHeads = k.u32Param("numKvHeads");
        F32 scale = k.f32Param("scale");
        U32 keysPerSplitParam = lengthOnDevice ? null : k.u32Param("keysPerSplit");

        U32 splits = k.mul(k.gridDim(Axis.Y), splitsPerBlock).named("splits");
        U32 length = lengthOnDevice ? k.loadU32(global(lengthAt)).named("length") : lengthParam;
        // With the length on the device the split count is fixed (a CUDA graph's), so each split takes its share.
        U32 keysPerSplit = lengthOnDevice
                ? k.div(k.add(length, k.sub(splits, 1)), splits).named("keysPerSplit")
                : keysPerSplitParam;
        U32 split = k.mad(k.blockIdx(Axis.Y), k.u32(splitsPerBlock), k.shr(k.threadIdx(), 5)).named("split");
        U32 kvRowBytes = k.mul(numKvHeads, 2L * headDim).named("kvRowBytes");
        U32 firstKey = k.min(k.mul(split, keysPerSplit), length).named("firstKey");
        U32 endKey = k.min(k.add(firstKey, keysPerSplit), length).named("endKey");
        return new DecodeSplit(q, kCache, vCache, partials, numHeads, numKvHeads, scale, length, split, splits,
                kvRowBytes, firstKey, endKey);
    }
}
