/**
 * The 8-bit KV cache ({@code --kv-cache fp8}; the name predates the codes): keys and values kept for decode as
 * symmetric int8 codes with one f32 scale per KV head and per block of
 * {@value io.minference.kernels.kvcache.Fp8E4m3#BLOCK_TOKENS} positions. The codes were e4m3 first; measured on the
 * pass-key model, e4m3's rounding alone missed issue 13's accuracy bound at any scale granularity, and int8 with the
 * same scales met it ({@link io.minference.kernels.kvcache.KvBlockCodes} has the figures).
 * <p>The format, for each layer and for K and V alike:
 * <ul>
 *   <li>codes: u8 [capacity][numKvHeads headDim], the layout of the bf16 cache with one byte per element;</li>
 *   <li>scales: f32 [ceil(capacity / 64)][numKvHeads]; element i of a block is {@code decode(code) * scale};</li>
 *   <li>tail: bf16 [64][numKvHeads headDim], the positions of the last, partial block, at row
 *       {@code position mod 64}.</li>
 * </ul>
 * A block is quantized once, when it is full: {@code scale = amax / 127} over its 64 rows of one head (the bf16
 * values, amax their largest magnitude; an all-zero block has scale 0 and codes 0), each code the integer nearest
 * {@code x / scale} (ties to even, clamped to [-127, 127]). Until then its positions stay
 * bf16 in the tail, and decode reads them from there: the partial block is never requantized, so every byte is
 * written once and a block's error does not depend on when it was read. The conversion is an IEEE division and
 * a round to nearest even ({@link io.minference.kernels.kvcache.KvBlockCodes} on the CPU,
 * {@link io.minference.kernels.kvcache.Fp8Ops} in kernels), so the same kernels assemble for sm_80 and sm_90a and the
 * GPU's bytes equal the CPU's bit for bit.
 * <p>Who writes what: a prompt is prefilled layer-major over bf16 whole-prompt K/V buffers (the prefill attends in
 * bf16), then {@link io.minference.kernels.kvcache.KvQuantize} turns the layer's full blocks into codes and scales
 * and copies the partial block into the tail. During decode the fused RoPE + KV-write kernel
 * ({@link io.minference.kernels.transformer.RopeKvWrite}, FP8 mode) writes the token's K/V to the tail and, when the
 * token fills its block, quantizes the block. The split-K decode kernel
 * ({@link io.minference.kernels.flash.GroupedFlashDecode}, FP8 mode) reads codes below the last full block and the
 * tail above it, dequantizing in registers.
 */
package io.minference.kernels.kvcache;
