/**
 * The tile layer over the DSL's raw instructions: shared-memory tiles that know their layout (row-major, padded,
 * swizzled), per-thread plans that fill them with cp.async, and per-lane plans that move mma fragments between
 * tiles, tensor cores and global memory. The flash kernels' vocabulary lives here too, in one place: the row-tile
 * copies and gathers of Q, K and V ({@link io.minference.ptx.tile.RowTileLoad}), the swizzled ldmatrix fragments
 * ({@link io.minference.ptx.tile.SwizzledFragments}), the accumulators as typed tiles
 * ({@link io.minference.ptx.tile.AccumulatorTile}) and the exp2 online softmax over them
 * ({@link io.minference.ptx.tile.OnlineSoftmax}).
 */
package io.minference.ptx.tile;
