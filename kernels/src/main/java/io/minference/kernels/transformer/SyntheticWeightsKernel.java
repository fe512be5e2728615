package io.minference.kernels.transformer;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.S32;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * Fills a device tensor with synthetic weights, exactly those of model-llama's {@code SyntheticWeights} (rounded to
 * bf16 to nearest even for a bf16 tensor), so that a synthetic model needs no file and no host copy. Element e of the
 * launch is element {@code i = first + e} of the tensor:
 * <pre>
 *   z    = key + (i + 1) * 0x9E3779B97F4A7C15                         (mod 2^64)
 *   z    = (z ^ z >>> 30) * 0xBF58476D1CE4E5B9;  z = (z ^ z >>> 27) * 0x94D049BB133111EB
 *   u    = ((int) (z >>> 40) - 2^23) * 2^-23                           (SplitMix64's last xor-shift leaves these bits)
 *   out  = fma(u, scale, bias)
 * </pre>
 * with {@code (scale, bias) = (scale, 0)} for a matrix or an embedding (one rounding, as {@code u * scale}) and
 * {@code (2^-4, 1)} for an RMSNorm weight ({@code 1 + u/16}, whose product is exact). Only 64-bit integer operations
 * and one FMA per element.
 * <p>Parameters: {@code out} (f32 or bf16 [count], 16-byte aligned), {@code count}, {@code first}, {@code key} (u64),
 * {@code scale}, {@code bias} (f32). Launch: block {@value #BLOCK}, any grid ({@link #shape}); a grid-stride loop
 * writes 8 elements per step with 16-byte stores, then threads 0..(count mod 8)-1 write the tail.
 *
 * @param output F32 or BF16
 */
public record SyntheticWeightsKernel(DType output) implements KernelDefinition {
    public static final int BLOCK = 256;
    private static final String NAME = "synthetic weights";
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long MIX_1 = 0xBF58476D1CE4E5B9L;
    private static final long MIX_2 = 0x94D049BB133111EBL;

    public SyntheticWeightsKernel {
        if (output != DType.F32 && output != DType.BF16) {
            throw new IllegalArgumentException(NAME + " are written as F32 or BF16, not " + output);
        }
    }

    @Override
    public String entryName() {
        return "synthetic_weights_" + output.name().toLowerCase();
    }

    /** Enough blocks for one 8-element chunk per thread, at most 16 per multiprocessor. */
    public static LaunchShape shape(long count, int multiprocessors) {
        long blocks = Math.max(1, Math.min((count / 8 + BLOCK - 1) / BLOCK, 16L * multiprocessors));
        return LaunchShape.of((int) blocks, BLOCK);
    }

    /** Fills all of {@code out} with elements {@code first ..} of the tensor that {@code key} names. */
    public void launch(CudaStream stream, DeviceTensor out, long first, long key, float scale, float bias) {
        if (out.dtype() != output) {
            throw new IllegalArgumentException(NAME + ": the " + entryName() + " kernel writes " + output + ", not "
                    + out.dtype());
        }
        launch(stream, out, out.elementCount(), first, key, scale, bias);
    }

    /** Fills {@code count} elements at {@code out} (16-byte aligned) with elements {@code first ..}. */
    public void launch(CudaStream stream, DevicePointer out, long count, long first, long key, float scale,
                       float bias) {
        check(out.address(), count, first);
        stream.context().kernel(emit(stream.context().device().ptxTarget()),
                        shape(count, stream.context().device().multiprocessorCount()))
                .launch(stream, out, count, first, key, scale, bias);
    }

    static void check(long address, long count, long first) {
        LaunchChecks.positive(NAME, "count", count);
        if (first < 0) throw new IllegalArgumentException(NAME + ": the first index must not be negative, got " + first);
        if (address % 16 != 0) {
            throw new IllegalArgumentException(NAME + ": the output must be 16-byte aligned, got 0x"
                    + Long.toHexString(address));
        }
    }

    @Override
    public void define(KernelBuilder k) {
        U64 out = k.pointerParam("out");
        U64 count = k.u64Param("count");
        U64 first = k.u64Param("first");
        U64 key = k.u64Param("key");
        F32 scale = k.f32Param("scale");
        F32 bias = k.f32Param("bias");
        k.maxThreadsPerBlock(BLOCK);
        k.describe("out[e] = " + output + "(fma(uniform(key, first + e), scale, bias)), SplitMix64 counters");
        U64 gamma = PtxOps.constant(k, GOLDEN_GAMMA);
        U64 mix1 = PtxOps.constant(k, MIX_1);
        U64 mix2 = PtxOps.constant(k, MIX_2);
        U32 thread = k.mad(k.blockIdx(), k.blockDim(), k.threadIdx()).named("thread");
        U64 stride = k.toU64(k.mul(k.gridDim(), k.blockDim())).named("stride");
        U64 chunks = k.shr(count, 3).named("chunks");
        U64 chunk = k.var("chunk", k.toU64(thread));
        int bytes = output.byteSize();

        k.whileLoop(() -> k.lt(chunk, chunks), () -> {
            U64 element = k.shl(chunk, 3);
            U64 counter = k.var("counter", k.add(key, k.mul(k.add(k.add(first, element), 1), gamma)));
            F32[] values = new F32[8];
            for (int j = 0; j < 8; j++) {
                if (j > 0) k.set(counter, k.add(counter, gamma));
                values[j] = k.mad(uniform(k, counter, mix1, mix2), scale, bias);
            }
            Address at = Address.global(k.add(out, k.shl(chunk, 3 + Integer.numberOfTrailingZeros(bytes))));
            if (output == DType.BF16) {
                B32[] packed = PtxOps.packBf16(k, values);
                k.storeVector(at, packed);
            } else {
                PtxOps.storeF32x8(k, at, values);
            }
            k.set(chunk, k.add(chunk, stride));
        });

        k.comment("the last count mod 8 elements, one per thread");
        U64 tail = k.add(k.shl(chunks, 3), k.toU64(thread)).named("tail");
        k.ifThen(k.lt(tail, count), () -> {
            U64 counter = k.add(key, k.mul(k.add(k.add(first, tail), 1), gamma));
            F32 value = k.mad(uniform(k, counter, mix1, mix2), scale, bias);
            Address at = Address.global(k.add(out, k.mul(tail, bytes)));
            k.store(at, output == DType.BF16 ? k.toBf16(value) : value);
        });
    }

    /** u in [-1, 1) from the counter: SplitMix64's finalizer up to the bits that u reads. */
    private static F32 uniform(KernelBuilder k, U64 counter, U64 mix1, U64 mix2) {
        U64 z = k.mul(k.xor(counter, k.shr(counter, 30)), mix1);
        z = k.mul(k.xor(z, k.shr(z, 27)), mix2);
        U32 top = k.toU32(k.shr(z, 40));
        S32 centred = k.sub(k.toS32(top), k.s32(1 << 23));
        return k.mul(k.toF32(centred), 0x1p-23f);
    }
}
