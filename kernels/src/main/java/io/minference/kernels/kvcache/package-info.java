/**
 * The 8-bit KV cache: keys and values kept for decode as one-byte codes with f32 scales per block of
 * {@value io.minference.kernels.kvcache.CodedBlocks#BLOCK_TOKENS} positions (int8 keys one per 16 channels of a
 * KV head, e4m3 keys and all values one per KV head: {@link io.minference.kernels.kvcache.KvScaleGroup} says why), in
 * one of two code formats
 * ({@link io.minference.kernels.kvcache.KvCodes}): FP8 e4m3 ({@code --kv-cache fp8}, scale amax / 448) or symmetric
 * int8 ({@code --kv-cache int8}, scale amax / 127). Measured on the pass-key model, e4m3's rounding alone misses
 * issue 13's accuracy bound at any scale granularity, and int8 meets it
 * ({@link io.minference.kernels.kvcache.KvBlockCodes} has the figures).
 * <p>The layout, for each layer:
 * <ul>
 *   <li>codes: u8 [capacity][numKvHeads headDim], the layout of the bf16 cache with one byte per element, for K and
 *       for V;</li>
 *   <li>scales: f32 [ceil(capacity / 64)][{@link io.minference.kernels.kvcache.KvScaleGroup#perRow}]: for int8 keys
 *       numKvHeads headDim / 16 a block, otherwise numKvHeads; element (p, c) is {@code decode(code) * scale}, its
 *       scale the one of block p / 64 over the channels of c
 *       ({@link io.minference.kernels.kvcache.CodedBlocks#values});</li>
 *   <li>tail: bf16 [64][numKvHeads headDim], the positions of the last, partial block, at row
 *       {@code position mod 64}, for K and for V.</li>
 * </ul>
 * A block is quantized once, when it is full: {@code scale = amax / max} over the 64 rows and the scale's channels
 * (the bf16 values, amax their largest magnitude, max 448 for e4m3 and 127 for int8; all zeros give scale 0 and codes
 * 0), each code the one nearest {@code x / scale} (ties to even; e4m3 saturates at 448, int8 clamps to [-127, 127]).
 * Until then its positions stay bf16 in the tail, and decode reads them from there: the partial block is never
 * requantized, so every byte is written once and a block's error does not depend on when it was read. Encoding is
 * an IEEE division and integer operations or a round to nearest even
 * ({@link io.minference.kernels.kvcache.CodedBlocks#quantize} on the CPU,
 * {@link io.minference.kernels.kvcache.BlockQuantize} in kernels), so the same kernels assemble for sm_80 and sm_90a
 * and the GPU's bytes equal the CPU's bit for bit. Decoding int8 is a sign extension and a conversion; e4m3 is
 * decoded by integer bit operations, or on sm_90a by {@code cvt.rn.f16x2.e4m3x2} (the same values).
 * <p>Who writes what: a prompt is prefilled layer-major over bf16 whole-prompt K/V buffers (the prefill attends in
 * bf16), then {@link io.minference.kernels.kvcache.KvQuantize} turns the layer's full blocks into codes and scales
 * and copies the partial block into the tail. During decode the fused RoPE + KV-write kernel
 * ({@link io.minference.kernels.transformer.RopeKvWrite}, 8-bit mode) writes the token's K/V to the tail and, when
 * the token fills its block, quantizes the block. The split-K decode kernel
 * ({@link io.minference.kernels.flash.GroupedFlashDecode}, 8-bit mode) reads codes below the last full block and the
 * tail above it, dequantizing in registers. Each of these kernels takes the code format in its specialization
 * record, and its entry name ends in the format's label.
 */
package io.minference.kernels.kvcache;
