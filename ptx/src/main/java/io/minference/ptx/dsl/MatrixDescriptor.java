package io.minference.ptx.dsl;

/**
 * A wgmma shared-memory matrix descriptor (64 bits): the operand's start address, its two strides and its swizzle
 * mode, as {@link WarpgroupOps#swizzled128} builds it. Fields, in 16-byte units: bits 0-13 start address, 16-29
 * leading-dimension byte offset, 32-45 stride-dimension byte offset; bits 62-63 the layout (1: 128-byte swizzle).
 * Moving the start by a multiple of 16 bytes is an add on the low field ({@link WarpgroupOps#advance}), valid
 * while the address stays below 256 KiB, which every shared window does.
 *
 * @param bits the descriptor value
 */
public record MatrixDescriptor(U64 bits) {
}
