/**
 * MInference dynamic sparse attention for prefill: per-head patterns ({@link io.minference.sparse.HeadPattern},
 * {@link io.minference.sparse.PatternPlan}), the index every pattern builds ({@link io.minference.sparse.SparseIndex})
 * and the reference attention over it ({@link io.minference.sparse.CpuSparseAttention}). The exact rules are in
 * docs/sparse-attention.md.
 */
package io.minference.sparse;
