package io.minference.kernels.transformer;

import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

/**
 * The first residual rows: {@code out[t][j] = table[ids[t]][j]}, the bf16 embedding widened exactly to f32. A row
 * whose id lies outside {@code [0, vocab)} is filled with NaN ({@code 0x7FC00000}) instead: the table is never read
 * out of bounds, and a bad id shows in everything computed from its row rather than passing for another token.
 * The CPU twin is {@link io.minference.kernels.cpu.EmbeddingGather} over the widened table (which throws on a bad id).
 * <p>Parameters: {@code table} (bf16 [vocab][dim]), {@code ids} (s32 [tokens]), {@code out} (f32 [tokens][dim]),
 * {@code vocab} (u32), {@code dim} (u32, a multiple of 8). Launch: grid {@code tokens}, block {@value #BLOCK}, no
 * dynamic shared memory; pointers 16-byte aligned. Each thread moves 16 bytes of the table per step.
 */
public record EmbeddingGather() implements KernelDefinition {
    public static final int BLOCK = 128;
    private static final String NAME = "embedding gather";

    @Override
    public String entryName() {
        return "embedding_gather_bf16_f32";
    }

    public LaunchShape shape(int tokens) {
        return LaunchShape.of(tokens, BLOCK);
    }

    /** Gathers the rows of {@code ids[0 .. tokens)} into the first {@code tokens} rows of {@code out}. */
    public void launch(CudaStream stream, DeviceTensor table, DeviceTensor ids, DeviceTensor out, int tokens) {
        if (table.rank() != 2) throw new IllegalArgumentException(NAME + ": the table must be [vocab, dim], got " + table);
        long vocab = table.dim(0), dim = table.dim(1);
        check(Buffer.of("table", table), vocab, dim, Buffer.of("ids", ids), Buffer.of("out", out), tokens);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(tokens))
                .launch(stream, table, ids, out, (int) vocab, (int) dim);
    }

    static void check(Buffer table, long vocab, long dim, Buffer ids, Buffer out, int tokens) {
        LaunchChecks.positive(NAME, "tokens", tokens);
        LaunchChecks.multipleOf(NAME, "dim", dim, 8);
        LaunchChecks.holds(NAME, table, DType.BF16, vocab * dim);
        LaunchChecks.holds(NAME, ids, DType.I32, tokens);
        LaunchChecks.holds(NAME, out, DType.F32, tokens * dim);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 table = k.pointerParam("table");
        U64 ids = k.pointerParam("ids");
        U64 out = k.pointerParam("out");
        U32 vocab = k.u32Param("vocab");
        U32 dim = k.u32Param("dim");
        k.maxThreadsPerBlock(BLOCK);
        k.describe("out[t] = table[ids[t]] widened to f32; a row of NaN for an id outside [0, vocab)");
        U32 tid = k.threadIdx();
        U32 token = k.blockIdx();
        U32 id = k.toU32(k.loadS32(k.element(ids, token, 4))).named("id");
        U32 chunks = k.shr(dim, 3).named("chunks");
        U64 outRow = k.add(out, k.mul(k.mulWide(token, dim), 4)).named("outRow");
        k.comment("a negative id reads as a huge unsigned one, so one compare bounds both sides");
        k.ifElse(k.lt(id, vocab), () -> {
            U64 tableRow = k.add(table, k.mul(k.mulWide(id, dim), 2)).named("tableRow");
            k.loop(tid, chunks, BLOCK, c -> {
                B32[] packed = k.loadB32x4(k.element(tableRow, c, 16));
                F32[] v = PtxOps.unpackBf16(k, packed);
                var at = k.element(outRow, c, 32);
                k.storeVector(at, v[0], v[1], v[2], v[3]);
                k.storeVector(at.plus(16), v[4], v[5], v[6], v[7]);
            });
        }, () -> {
            F32 nan = k.var("nan", k.f32(Float.NaN));
            k.loop(tid, chunks, BLOCK, c -> {
                var at = k.element(outRow, c, 32);
                k.storeVector(at, nan, nan, nan, nan);
                k.storeVector(at.plus(16), nan, nan, nan, nan);
            });
        });
    }
}
