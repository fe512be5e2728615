/**
 * Online estimation on the CPU, the reference the device estimation must match: the vertical and slash scores of
 * the last queries ({@link io.minference.sparse.estimate.VerticalSlashScores}), block scores from mean-pooled
 * queries and keys ({@link io.minference.sparse.estimate.BlockScores}), and the selection of what to keep by top-k
 * or cumulative mass with forced entries and ties broken by lower index ({@link io.minference.sparse.estimate.Selection}).
 */
package io.minference.sparse.estimate;
