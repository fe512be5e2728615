/**
 * Dequantization of ggml block types (and conversion of F16, BF16 and F32) to bf16 on the device, for the weight
 * upload: the raw rows of a matrix are copied to the device as they lie in the model file, and
 * {@link io.minference.kernels.dequant.DequantizeToBf16} expands them there, so the host never holds a decoded copy. Its CPU twin
 * ({@link io.minference.kernels.dequant.CpuDequantizeToBf16}) is the runtime's scalar block decoders
 * ({@link io.minference.runtime.quant.BlockDecoder}) followed by round-to-nearest-even to bf16; the device kernel
 * performs the same f32 operations in the same order (each multiply and subtract rounded on its own, never fused), so
 * the two agree bit for bit.
 *
 * <p>To add a type: add its decoder to {@code BlockDecoder}, a case to {@code DequantizeToBf16.define} that gives the f32
 * value of each element of a thread's unit (one block), and the type to {@link io.minference.kernels.dequant.DequantizeToBf16#TYPES}; the gpu test then
 * covers it.
 */
package io.minference.kernels.dequant;
