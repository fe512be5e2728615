package io.minference.kernels.kvcache;

import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

import java.util.Objects;

/**
 * Stores a prefilled layer's K and V in the 8-bit cache, as {@code codes}: positions {@code [0, length)} of the bf16
 * whole-prompt buffers {@code kPrompt}, {@code vPrompt} ([length][numKvHeads headDim]) become codes and scales for
 * every full block, and the rows of the partial last block, if any, are copied to the tail (row p mod 64). The format
 * is that of {@link io.minference.kernels.kvcache}, the CPU twin {@link CodedBlocks#quantize}.
 * <p>Parameters: {@code kPrompt}, {@code vPrompt}, {@code kCodes}, {@code vCodes}, {@code kScales},
 * {@code vScales}, {@code kTail}, {@code vTail}, {@code length} (u32). Launch: grid {@code (ceil(length / 64),
 * numKvHeads)}, block {@value #THREADS}, no dynamic shared memory; block (b, h) does head h of block b.
 *
 * @param numKvHeads key/value heads
 * @param headDim    head size: 8, 16, 32, 64, 128 or 256
 * @param codes      the code format
 */
public record KvQuantize(int numKvHeads, int headDim, KvCodes codes) implements KernelDefinition {
    public static final int THREADS = 128;

    public KvQuantize {
        if (numKvHeads < 1 || headDim % 8 != 0 || Integer.bitCount(headDim / 8) != 1 || headDim > 256) {
            throw new IllegalArgumentException("KV quantization needs KV heads and a head size of 8 to 256 whose chunks"
                    + " of 8 divide into a power of two per row; got " + numKvHeads + " heads of " + headDim);
        }
        Objects.requireNonNull(codes, "codes");
    }

    @Override
    public String entryName() {
        return "kv_quantize_kv%d_d%d_%s".formatted(numKvHeads, headDim, codes.label());
    }

    /** Quantizes the full blocks of a prefilled layer and copies its partial block to the tail. */
    public void launch(CudaStream stream, DeviceTensor kPrompt, DeviceTensor vPrompt, CodedKvLayer cache, int length) {
        long kvDim = (long) numKvHeads * headDim;
        if (cache.numKvHeads() != numKvHeads || cache.headDim() != headDim) {
            throw new IllegalArgumentException("KV quantize: the cache holds " + cache.numKvHeads() + " heads of "
                    + cache.headDim() + ", this kernel " + numKvHeads + " of " + headDim);
        }
        if (cache.codes() != codes) {
            throw new IllegalArgumentException("KV quantize: the cache holds " + cache.codes().label()
                    + " codes, this kernel writes " + codes.label());
        }
        if (length < 1 || length > cache.capacity()) {
            throw new IllegalArgumentException("KV quantize: length " + length + " outside 1 .. the cache's "
                    + cache.capacity() + " positions");
        }
        for (DeviceTensor prompt : new DeviceTensor[] {kPrompt, vPrompt}) {
            if (prompt.dtype() != DType.BF16 || prompt.elementCount() < length * kvDim) {
                throw new IllegalArgumentException("KV quantize: a prompt buffer must be bf16 with " + length
                        + " rows of " + kvDim + ", got " + prompt);
            }
        }
        stream.context().kernel(emit(stream.context().device().ptxTarget()),
                new LaunchShape(CodedKvLayer.blocks(length), numKvHeads, 1, THREADS, 1, 1)).launch(stream, kPrompt,
                vPrompt, cache.keyCodes(), cache.valueCodes(), cache.keyScales(), cache.valueScales(),
                cache.keyTail(), cache.valueTail(), length);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 kPrompt = k.pointerParam("kPrompt");
        U64 vPrompt = k.pointerParam("vPrompt");
        U64 kCodes = k.pointerParam("kCodes");
        U64 vCodes = k.pointerParam("vCodes");
        U64 kScales = k.pointerParam("kScales");
        U64 vScales = k.pointerParam("vScales");
        U64 kTail = k.pointerParam("kTail");
        U64 vTail = k.pointerParam("vTail");
        U32 length = k.u32Param("length");
        k.maxThreadsPerBlock(THREADS);
        k.describe("8-bit KV cache (" + codes.label() + " codes): full 64-position blocks of a prompt quantized"
                + " per KV head, the partial block copied to the bf16 tail");
        int kvDim = numKvHeads * headDim;
        U32 block = k.blockIdx(Axis.X).named("block");
        U32 head = k.blockIdx(Axis.Y).named("head");
        U32 firstRow = k.shl(block, KvCodeOps.BLOCK_SHIFT).named("firstRow");
        U32 fullBlocks = k.shr(length, KvCodeOps.BLOCK_SHIFT);
        U64 headBytes = k.mulWide(head, 2L * headDim);
        U64 promptOffset = k.add(k.mulWide(firstRow, 2L * kvDim), headBytes);
        BlockQuantize keys = BlockQuantize.of(codes, THREADS, headDim, KvScaleGroup.KEYS);
        BlockQuantize values = BlockQuantize.of(codes, THREADS, headDim, KvScaleGroup.VALUES);
        U32 scratch = k.sharedArray("scaleMax", Math.max(keys.scratchBytes(), values.scratchBytes()));
        k.ifElse(k.lt(block, fullBlocks), () -> {
            U64 codesOffset = k.add(k.mulWide(firstRow, kvDim), k.mulWide(head, headDim));
            U32 sourceRow = k.u32(2L * kvDim), codesRow = k.u32(kvDim);
            keys.emit(k, k.add(kPrompt, promptOffset), sourceRow, k.add(kCodes, codesOffset), codesRow,
                    keys.firstScale(k, kScales, block, head, numKvHeads), scratch);
            values.emit(k, k.add(vPrompt, promptOffset), sourceRow, k.add(vCodes, codesOffset), codesRow,
                    values.firstScale(k, vScales, block, head, numKvHeads), scratch);
        }, () -> {
            int chunksPerRow = headDim / 8;
            U32 rows = k.sub(length, firstRow);
            k.loop(k.threadIdx(), k.mul(rows, chunksPerRow), THREADS, c -> {
                U32 row = k.shr(c, Integer.numberOfTrailingZeros(chunksPerRow));
                U64 within = k.add(k.mulWide(row, 2L * kvDim), k.mulWide(k.and(c, chunksPerRow - 1), 16));
                U64 tailOffset = k.add(within, headBytes);
                U64 sourceOffset = k.add(promptOffset, within);
                B32[] kWords = k.loadB32x4(Address.global(k.add(kPrompt, sourceOffset)));
                B32[] vWords = k.loadB32x4(Address.global(k.add(vPrompt, sourceOffset)));
                k.storeVector(Address.global(k.add(kTail, tailOffset)), kWords);
                k.storeVector(Address.global(k.add(vTail, tailOffset)), vWords);
            });
        });
    }
}
