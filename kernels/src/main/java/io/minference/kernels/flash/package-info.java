/**
 * Flash attention on the GPU, written in the PTX DSL: causal prefill on the tensor cores
 * ({@link io.minference.kernels.flash.FlashPrefill}, FlashAttention-2's algorithm, head dims 64 and 128: the one
 * key loop {@link io.minference.kernels.flash.FlashKeyLoop}, which the sparse kernel shares, over the causal
 * tiles), a simple
 * f32 kernel for any other head dim ({@link io.minference.kernels.flash.FlashFallback}), split-K decode
 * ({@link io.minference.kernels.flash.FlashDecode} then {@link io.minference.kernels.flash.FlashDecodeCombine}),
 * and {@link io.minference.kernels.flash.FlashAttention}, which picks and launches them. On Hopper (sm_90) the prefill
 * is {@link io.minference.kernels.flash.HopperFlashPrefill} instead (FlashAttention-3's design: TMA producer, wgmma
 * consumers), {@link io.minference.kernels.flash.HopperFlashLoop} over a
 * {@link io.minference.kernels.flash.HopperKeySource}, the loop the sparse Hopper kernel shares;
 * {@link io.minference.kernels.flash.PrefillKernel} is the setting that chooses the family.
 *
 * <p>Layout, shared by every kernel here (all bf16, row-major, token-major):
 * <ul>
 *   <li>Q {@code [T, numHeads, d]}: the queries of positions {@code [start, start + T)};</li>
 *   <li>K and V {@code [capacity, numKvHeads, d]}: the layer's KV cache, which already holds rows
 *       {@code [0, start + T)}, the block's own included (chunked prefill: {@code start > 0});</li>
 *   <li>O {@code [T, numHeads, d]}.</li>
 * </ul>
 * Query row t attends keys {@code [0, start + t]}; query head h reads KV head {@code h / (numHeads / numKvHeads)}
 * in place (grouped-query attention, nothing copied per query head). The scale parameter is
 * {@code 1/sqrt(d) * log2(e)}: the softmax runs in exp2. Decode is the case T = 1 with the query at position
 * {@code length - 1}.
 */
package io.minference.kernels.flash;
