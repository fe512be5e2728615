/**
 * MInference dynamic sparse attention for prefill: per-head patterns ({@link io.minference.sparse.HeadPattern},
 * {@link io.minference.sparse.PatternPlan}), the index every pattern builds ({@link io.minference.sparse.SparseIndex})
 * and the reference attention over it ({@link io.minference.sparse.CpuSparseAttention}), the CPU sparse prefill
 * ({@link io.minference.sparse.SparsePrefills#cpu}), per-head accuracy against dense attention
 * ({@link io.minference.sparse.HeadAccuracy}) and the offline pattern search ({@link io.minference.sparse.PatternSearch}).
 * Patterns plug in through {@code io.minference.sparse.pattern}; estimation lives in {@code estimate}, the CPU
 * register tiles in {@code cpu}, the synthetic inputs in {@code synthetic}. The exact rules are in
 * docs/sparse-attention.md.
 */
package io.minference.sparse;
