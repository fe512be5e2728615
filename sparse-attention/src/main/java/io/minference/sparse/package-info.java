/**
 * MInference dynamic sparse attention: patterns, online index estimation, index building and sparse kernels (filled in by the sparse prefill issue).
 */
package io.minference.sparse;
