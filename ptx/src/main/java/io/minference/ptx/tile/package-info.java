/**
 * The tile layer over the DSL's raw instructions: shared-memory tiles that know their layout (row-major, padded,
 * swizzled), per-thread plans that fill them with cp.async, and per-lane plans that move mma fragments between
 * tiles, tensor cores and global memory.
 */
package io.minference.ptx.tile;
