/**
 * Block element types (ggml's quantizations, F16, BF16) decoded to F32 by scalar reference decoders,
 * {@link io.minference.runtime.quant.BlockDecoder}. The CPU backend computes on such blocks in place; these decoders
 * are what its kernels are tested against, and what a loader uses when it does need F32.
 */
package io.minference.runtime.quant;
