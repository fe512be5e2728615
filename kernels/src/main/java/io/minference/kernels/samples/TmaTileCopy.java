package io.minference.kernels.samples;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.MBarrier;
import io.minference.ptx.dsl.SpecialRegisters.Axis;
import io.minference.ptx.dsl.TensorMapParam;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.ptx.tile.WgmmaTile;

import static io.minference.ptx.dsl.Address.global;

/**
 * A TMA round trip, the debugging path of the Hopper kernels' data movement: each block loads one
 * {@code boxRows x width} tile of one head of a {@code [rows, heads, width]} bf16 tensor through the copy engine into
 * 128-byte-swizzled shared memory ({@link WgmmaTile}), waits on its mbarrier, then un-swizzles it with ordinary
 * 16-byte shared loads and writes it to the same place of a {@code [rows, heads, width]} output. The output equals
 * the input bit for bit only if the tensor map, the barrier's transaction count and the swizzle formula the wgmma
 * descriptors rely on are all right.
 * <p>Parameters: {@code src} (tensor map: dims {@code {width, heads, rows}}, box {@code {64, 1, boxRows}}, 128-byte
 * swizzle), {@code out} (u64), {@code rows}, {@code heads} (u32). Launch: grid {@code (ceil(rows / boxRows), heads)},
 * block {@link #THREADS}, dynamic shared memory {@link #sharedBytes()}.
 */
public record TmaTileCopy(int boxRows, int width) implements KernelDefinition {
    public static final int THREADS = 128;

    public TmaTileCopy {
        WgmmaTile.checkShape(boxRows, width);
        if (boxRows > 256) {
            throw new IllegalArgumentException("a TMA box has at most 256 rows, got " + boxRows);
        }
    }

    public int sharedBytes() {
        return boxRows * width * 2;
    }

    @Override
    public String entryName() {
        return "tma_tile_copy_r%d_w%d".formatted(boxRows, width);
    }

    @Override
    public PtxTarget minimumTarget() {
        return PtxTarget.SM_90A;
    }

    @Override
    public void define(KernelBuilder k) {
        TensorMapParam source = k.tensorMapParam("src");
        U64 out = k.pointerParam("out");
        U32 rows = k.u32Param("rows");
        U32 heads = k.u32Param("heads");
        k.maxThreadsPerBlock(THREADS);
        k.describe("TMA round trip of " + boxRows + "x" + width + " bf16 tiles through 128-byte-swizzled shared memory");
        WgmmaTile tile = new WgmmaTile(k.dynamicShared(sharedBytes(), 1024), boxRows, width);
        MBarrier loaded = new MBarrier(k.sharedArray("loaded", MBarrier.BYTES));
        U32 tid = k.threadIdx();
        U32 firstRow = k.mul(k.blockIdx(Axis.X), boxRows).named("firstRow");
        U32 head = k.blockIdx(Axis.Y).named("head");
        k.ifThen(k.eq(tid, 0), () -> {
            k.initBarrier(loaded, 1);
            k.fenceBarrierInit();
        });
        k.barrier();
        k.ifThen(k.eq(tid, 0), () -> {
            k.arriveExpectingBytes(loaded, tile.bytes());
            tile.load(k, source, loaded, head, firstRow);
        });
        k.waitPhase(loaded, k.u32(0));

        int chunksPerRow = width / 8;
        k.loop(tid, k.u32((long) boxRows * chunksPerRow), THREADS, chunk -> {
            U32 r = k.div(chunk, chunksPerRow).named("r");
            U32 column = k.mul(k.rem(chunk, chunksPerRow), 8).named("column");
            U32 block = k.shr(column, 6);
            U32 swizzledChunk = k.xor(k.and(k.shr(column, 3), 7), k.and(r, 7));
            U32 offset = k.add(k.add(k.mul(block, tile.blockBytes()), k.mul(r, 128)), k.mul(swizzledChunk, 16));
            U32 row = k.add(firstRow, r).named("row");
            k.ifThen(k.lt(row, rows), () -> {
                B32[] chunkBits = k.loadB32x4(Address.shared(k.add(tile.address(), offset)));
                U32 element = k.add(k.mul(k.add(k.mul(row, heads), head), width), column);
                k.storeVector(global(k.pointer(out, element, 2)), chunkBits);
            });
        });
    }
}
