package io.minference.kernels.transformer;

import io.minference.kernels.kvcache.BlockQuantize;
import io.minference.kernels.kvcache.CodedBlocks;
import io.minference.kernels.kvcache.CodedKvLayer;
import io.minference.kernels.kvcache.KvCodeOps;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.kernels.kvcache.KvScaleGroup;
import io.minference.kernels.transformer.LaunchChecks.Buffer;
import io.minference.ptx.dsl.Address;
import io.minference.ptx.dsl.B32;
import io.minference.ptx.dsl.F32;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.Pred;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import io.minference.runtime.DType;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.LaunchShape;

import java.util.Objects;

/**
 * RoPE fused with the KV-cache write. Row t of the fused QKV projection (bf16 [T][(numHeads + 2 numKvHeads)
 * headDim]: Q heads, then K heads, then V heads) is at position {@code start + t}; the kernel writes its Q heads
 * rotated into {@code q[t]}, its K heads rotated into {@code kCache[start + t]} and its V heads unchanged into
 * {@code vCache[start + t]}. Pairs (2i, 2i+1) of each head turn by {@code position * f_i} with f_i from
 * {@link RopeFrequencies#table} (Llama-3.1 factors folded in).
 * <p>Precision: the angle is formed with care in f32: {@code position * hi} exactly as a sum of two floats (an FMA
 * gives the product's rounding error), plus {@code position * lo}, reduced by 2 pi split in two floats, then
 * {@code sin.approx}/{@code cos.approx} on [-pi, pi]. The sine and cosine are within about 1e-6 of those of the
 * double angle that the CPU twin {@link CpuRopeKvWrite} (over {@link io.minference.kernels.cpu.Rope}) uses, at any
 * position below 2^24; results are rounded to bf16 once.
 * <p>Parameters: {@code qkv} (bf16 [T][rowWidth]), {@code q} (bf16 [T][numHeads headDim]), {@code kCache},
 * {@code vCache} (bf16 [capacity][numKvHeads headDim]), {@code freqs} (f32 [headDim/2][2]), {@code start} (u32),
 * {@code capacity} (u32: cache rows at or past it are never written). Launch: grid T, block {@value #BLOCK}, no
 * dynamic shared memory (headDim * 4 bytes of static shared memory hold the token's cosines and sines); pointers
 * 16-byte aligned. Each thread moves 16 bytes (4 pairs) per step.
 * <p>With {@code startOnDevice}, the parameter {@code start} gives way to {@code startAt} (u64, a u32 in device
 * memory read at run time), so that a CUDA graph captured once serves every decode position.
 * <p>With {@code cacheCodes} (the decode step of an 8-bit KV cache of that code format, layout in
 * {@link io.minference.kernels.kvcache}), {@code kCache} and {@code vCache} are the layer's bf16 tails (64 rows;
 * position p goes to row p mod 64), {@code capacity} is the 8-bit cache's, and four more parameters follow:
 * {@code kCodes}, {@code vCodes}, {@code kScales}, {@code vScales}. When the token fills its 64-position block, the
 * same CTA then quantizes the block from the tail into codes and scales, every KV head in turn
 * ({@link BlockQuantize}). Launch: one token (grid 1), since the block's other rows must have been written by
 * earlier launches.
 *
 * @param numHeads      query heads
 * @param numKvHeads    key/value heads
 * @param headDim       head size, a multiple of 8
 * @param startOnDevice whether the start position is read from device memory rather than passed by value
 * @param cacheCodes    the code format when K and V go to an 8-bit cache's tail, quantized when a block fills;
 *                      null for a bf16 cache
 */
public record RopeKvWrite(int numHeads, int numKvHeads, int headDim, boolean startOnDevice, KvCodes cacheCodes)
        implements KernelDefinition {
    public static final int BLOCK = 128;
    /** Positions are exact in f32 below this. */
    public static final long MAX_POSITIONS = 1L << 24;
    private static final String NAME = "RoPE + KV write";
    private static final double TWO_PI = 2 * Math.PI;
    private static final float TWO_PI_HI = (float) TWO_PI;
    private static final float TWO_PI_LO = (float) (TWO_PI - TWO_PI_HI);

    public RopeKvWrite {
        if (numHeads <= 0 || numKvHeads <= 0 || headDim <= 0 || headDim % 8 != 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("RoPE + KV write needs positive head counts, query heads a multiple"
                    + " of KV heads and a head size that is a multiple of 8; got " + this);
        }
    }

    /** The start position passed by value, a bf16 cache. */
    public RopeKvWrite(int numHeads, int numKvHeads, int headDim) {
        this(numHeads, numKvHeads, headDim, false, null);
    }

    /** The same shape with the start position read from device memory. */
    public RopeKvWrite withStartOnDevice() {
        return new RopeKvWrite(numHeads, numKvHeads, headDim, true, cacheCodes);
    }

    /**
     * The same shape writing a token into an 8-bit cache of {@code codes} (its tail, and its codes when the block
     * fills).
     */
    public RopeKvWrite withCacheCodes(KvCodes codes) {
        return new RopeKvWrite(numHeads, numKvHeads, headDim, startOnDevice, Objects.requireNonNull(codes, "codes"));
    }

    private boolean codedCache() {
        return cacheCodes != null;
    }

    public int qWidth() {
        return numHeads * headDim;
    }

    public int kvWidth() {
        return numKvHeads * headDim;
    }

    /** Elements in a row of the fused QKV projection. */
    public int rowWidth() {
        return qWidth() + 2 * kvWidth();
    }

    @Override
    public String entryName() {
        return "rope_kv_write_h%d_kv%d_d%d%s%s".formatted(numHeads, numKvHeads, headDim,
                startOnDevice ? "_start_on_device" : "", codedCache() ? "_" + cacheCodes.label() : "");
    }

    public LaunchShape shape(int tokens) {
        return LaunchShape.of(tokens, BLOCK);
    }

    /** Rotates and stores rows 0 .. tokens-1 of {@code qkv}, at positions start .. start+tokens-1. */
    public void launch(CudaStream stream, DeviceTensor qkv, DeviceTensor q, DeviceTensor kCache, DeviceTensor vCache,
                       DeviceTensor freqs, int start, int tokens) {
        if (startOnDevice) throw new IllegalStateException(NAME + ": this kernel reads its start from the device");
        requireBf16Cache();
        long capacity = kCache.elementCount() / kvWidth();
        check(Buffer.of("qkv", qkv), Buffer.of("q", q), Buffer.of("kCache", kCache), Buffer.of("vCache", vCache),
                Buffer.of("freqs", freqs), start, tokens, capacity);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(tokens))
                .launch(stream, qkv, q, kCache, vCache, freqs, start, (int) capacity);
    }

    /**
     * Rotates and stores rows 0 .. tokens-1 of {@code qkv} at positions read when the kernel runs from the u32 at
     * {@code startAt}; rows whose position lies at or past the cache's capacity are not written to the cache.
     */
    public void launch(CudaStream stream, DeviceTensor qkv, DeviceTensor q, DeviceTensor kCache, DeviceTensor vCache,
                       DeviceTensor freqs, DevicePointer startAt, int tokens) {
        if (!startOnDevice) throw new IllegalStateException(NAME + ": this kernel takes its start by value");
        requireBf16Cache();
        long capacity = kCache.elementCount() / kvWidth();
        check(Buffer.of("qkv", qkv), Buffer.of("q", q), Buffer.of("kCache", kCache), Buffer.of("vCache", vCache),
                Buffer.of("freqs", freqs), 0, tokens, capacity);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(tokens))
                .launch(stream, qkv, q, kCache, vCache, freqs, startAt, (int) capacity);
    }

    /**
     * Rotates and stores one token (row 0 of {@code qkv}) at the position read when the kernel runs from the u32 at
     * {@code startAt}, into an 8-bit cache of this kernel's code format: its K and V to the tail, and the block's codes
     * and scales when the token fills it. A position at or past the cache's capacity is not written.
     */
    public void launch(CudaStream stream, DeviceTensor qkv, DeviceTensor q, CodedKvLayer cache, DeviceTensor freqs,
                       DevicePointer startAt) {
        if (!startOnDevice || cacheCodes != cache.codes()) {
            throw new IllegalStateException(NAME + ": this kernel does not read its start from the device into an"
                    + " 8-bit cache of " + cache.codes().label() + " codes");
        }
        if (cache.numKvHeads() != numKvHeads || cache.headDim() != headDim) {
            throw new IllegalArgumentException(NAME + ": the 8-bit cache holds " + cache.numKvHeads() + " heads of "
                    + cache.headDim() + ", this kernel " + numKvHeads + " of " + headDim);
        }
        check(Buffer.of("qkv", qkv), Buffer.of("q", q), Buffer.of("kTail", cache.keyTail()),
                Buffer.of("vTail", cache.valueTail()), Buffer.of("freqs", freqs), 0, 1, CodedBlocks.BLOCK_TOKENS);
        stream.context().kernel(emit(stream.context().device().ptxTarget()), shape(1))
                .launch(stream, qkv, q, cache.keyTail(), cache.valueTail(), freqs, startAt, cache.capacity(),
                        cache.keyCodes(), cache.valueCodes(), cache.keyScales(), cache.valueScales());
    }

    private void requireBf16Cache() {
        if (codedCache()) throw new IllegalStateException(NAME + ": this kernel writes an 8-bit cache; pass its layer");
    }

    void check(Buffer qkv, Buffer q, Buffer kCache, Buffer vCache, Buffer freqs, long start, int tokens,
               long capacity) {
        LaunchChecks.positive(NAME, "tokens", tokens);
        if (start < 0 || start + tokens > capacity) {
            throw new IllegalArgumentException(NAME + ": positions " + start + " .. " + (start + tokens - 1)
                    + " do not fit a KV cache of " + capacity + " rows");
        }
        if (start + tokens > MAX_POSITIONS) {
            throw new IllegalArgumentException(NAME + ": positions reach " + (start + tokens - 1)
                    + ", past the 2^24 that f32 angles represent exactly");
        }
        LaunchChecks.holds(NAME, qkv, DType.BF16, (long) tokens * rowWidth());
        LaunchChecks.holds(NAME, q, DType.BF16, (long) tokens * qWidth());
        LaunchChecks.holds(NAME, kCache, DType.BF16, capacity * kvWidth());
        LaunchChecks.holds(NAME, vCache, DType.BF16, capacity * kvWidth());
        LaunchChecks.holds(NAME, freqs, DType.F32, headDim);
    }

    @Override
    public void define(KernelBuilder k) {
        U64 qkv = k.pointerParam("qkv");
        U64 q = k.pointerParam("q");
        U64 kCache = k.pointerParam("kCache");
        U64 vCache = k.pointerParam("vCache");
        U64 freqs = k.pointerParam("freqs");
        U64 startAt = startOnDevice ? k.pointerParam("startAt") : null;
        U32 startParam = startOnDevice ? null : k.u32Param("start");
        U32 capacity = k.u32Param("capacity");
        U64 kCodes = codedCache() ? k.pointerParam("kCodes") : null;
        U64 vCodes = codedCache() ? k.pointerParam("vCodes") : null;
        U64 kScales = codedCache() ? k.pointerParam("kScales") : null;
        U64 vScales = codedCache() ? k.pointerParam("vScales") : null;
        k.maxThreadsPerBlock(BLOCK);
        k.describe("q[t] = rope(Q), kCache[start+t] = rope(K), vCache[start+t] = V; one block per token"
                + (startOnDevice ? "; start read from device memory" : "")
                + (codedCache() ? "; K, V to an 8-bit cache's tail, its block quantized to " + cacheCodes.label()
                        + " codes when full" : ""));
        U32 start = startOnDevice ? k.loadU32(Address.global(startAt)).named("start") : startParam;
        int pairs = headDim / 2;
        U32 tid = k.threadIdx();
        U32 token = k.blockIdx();
        U32 position = k.add(start, token).named("position");

        k.comment("this token's cosines [pairs] and sines [pairs], once for all heads");
        U32 angles = k.sharedArray("angles", headDim * 4);
        F32 p = k.toF32(position).named("p");
        k.loop(tid, k.u32(pairs), BLOCK, i -> {
            F32[] f = k.loadF32x2(k.element(freqs, i, 8));
            F32 r = reducedAngle(k, p, f[0], f[1]);
            Address cosAt = k.element(angles, i, 4);
            k.store(cosAt, PtxOps.cos(k, r));
            k.store(cosAt.plus(pairs * 4L), PtxOps.sin(k, r));
        });
        k.barrier();

        U64 row = k.add(qkv, k.mulWide(token, rowWidth() * 2L)).named("row");
        U64 qRow = k.add(q, k.mulWide(token, qWidth() * 2L)).named("qRow");
        U32 cacheRow = codedCache() ? k.and(position, CodedBlocks.BLOCK_TOKENS - 1) : position;
        U64 kRow = k.add(kCache, k.mulWide(cacheRow, kvWidth() * 2L)).named("kRow");
        U64 vRow = k.add(vCache, k.mulWide(cacheRow, kvWidth() * 2L)).named("vRow");
        Pred inCache = k.lt(position, capacity);
        int qChunks = qWidth() / 8;
        int kvChunks = kvWidth() / 8;
        k.loop(tid, k.u32(rowWidth() / 8), BLOCK, c -> {
            B32[] words = k.loadB32x4(k.element(row, c, 16));
            k.ifElse(k.lt(c, qChunks), () -> k.storeVector(k.element(qRow, c, 16), rotate(k, c, angles, words)),
                    () -> k.ifThen(inCache, () -> k.ifElse(k.lt(c, qChunks + kvChunks),
                            () -> k.storeVector(k.element(kRow, k.sub(c, qChunks), 16), rotate(k, c, angles, words)),
                            () -> k.storeVector(k.element(vRow, k.sub(c, qChunks + kvChunks), 16), words))));
        });
        if (codedCache()) quantizeFullBlock(k, position, inCache, kCache, vCache, kCodes, vCodes, kScales, vScales);
    }

    /** When {@code position} is the last of its block: the block's every KV head from the tails into codes. */
    private void quantizeFullBlock(KernelBuilder k, U32 position, Pred inCache, U64 kTail, U64 vTail, U64 kCodes,
                                   U64 vCodes, U64 kScales, U64 vScales) {
        k.comment("the tails' rows are written (earlier launches, and this CTA before the barrier)");
        k.barrier();
        BlockQuantize keys = BlockQuantize.of(cacheCodes, BLOCK, headDim, KvScaleGroup.KEYS);
        BlockQuantize values = BlockQuantize.of(cacheCodes, BLOCK, headDim, KvScaleGroup.VALUES);
        U32 scratch = k.sharedArray("scaleMax", Math.max(keys.scratchBytes(), values.scratchBytes()));
        int last = CodedBlocks.BLOCK_TOKENS - 1;
        k.ifThen(k.and(inCache, k.eq(k.and(position, last), last)), () -> {
            U32 block = k.shr(position, KvCodeOps.BLOCK_SHIFT);
            U64 firstCode = k.mulWide(k.sub(position, last), kvWidth());
            U32 tailRow = k.u32(2L * kvWidth()), codesRow = k.u32(kvWidth());
            for (int h = 0; h < numKvHeads; h++) {
                long tailColumn = 2L * h * headDim;
                U64 codes = k.add(firstCode, (long) h * headDim);
                keys.emit(k, k.add(kTail, tailColumn), tailRow, k.add(kCodes, codes), codesRow,
                        keys.firstScale(k, kScales, block, k.u32(h), numKvHeads), scratch);
                values.emit(k, k.add(vTail, tailColumn), tailRow, k.add(vCodes, codes), codesRow,
                        values.firstScale(k, vScales, block, k.u32(h), numKvHeads), scratch);
            }
        });
    }

    /**
     * {@code position * (hi + lo)} reduced to [-pi, pi] (and a rounding): the rounded product, its exact rounding
     * error from an FMA and the lo term form the angle to about 2^-24 relative; 2 pi in two floats takes out whole
     * turns, twice.
     */
    private static F32 reducedAngle(KernelBuilder k, F32 p, F32 hi, F32 lo) {
        F32 product = PtxOps.mulRounded(k, p, hi);
        F32 error = k.mad(p, hi, k.neg(product));
        F32 small = k.mad(p, lo, error);
        F32 reduced = k.add(takeTurns(k, product), small);
        k.comment("the first turn count came from a rounded quotient and may miss by one near a half turn");
        return takeTurns(k, reduced).named("angle");
    }

    /** x less the nearest whole number of turns, with 2 pi in two floats and one rounding per FMA. */
    private static F32 takeTurns(KernelBuilder k, F32 x) {
        F32 turns = k.neg(PtxOps.roundToInteger(k, k.mul(x, (float) (1 / TWO_PI))));
        return k.mad(turns, k.f32(TWO_PI_LO), k.mad(turns, k.f32(TWO_PI_HI), x));
    }

    /** The 4 pairs of chunk c, which start at pair (8c mod headDim) / 2 of their head, turned and packed. */
    private B32[] rotate(KernelBuilder k, U32 chunk, U32 angles, B32[] words) {
        U32 firstPair = k.shr(k.rem(k.mul(chunk, 8), headDim), 1);
        Address cosAt = k.element(angles, firstPair, 4);
        F32[] cos = k.loadF32x4(cosAt);
        F32[] sin = k.loadF32x4(cosAt.plus(headDim / 2 * 4L));
        F32[] v = PtxOps.unpackBf16(k, words);
        F32[] turned = new F32[8];
        for (int i = 0; i < 4; i++) {
            F32 a = v[2 * i], b = v[2 * i + 1];
            turned[2 * i] = k.sub(k.mul(a, cos[i]), k.mul(b, sin[i]));
            turned[2 * i + 1] = k.add(k.mul(a, sin[i]), k.mul(b, cos[i]));
        }
        return PtxOps.packBf16(k, turned);
    }
}
