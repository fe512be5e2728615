/**
 * Seeded synthetic queries, keys and values whose attention has the structure long-context models show (sinks, a
 * local band, strong key columns, periodic diagonals, noise), for benchmarks and accuracy tests of the sparse
 * patterns: {@link io.minference.sparse.synthetic.SyntheticAttention}.
 */
package io.minference.sparse.synthetic;
