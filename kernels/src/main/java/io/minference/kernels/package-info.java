/**
 * The transformer's kernels, each a DSL kernel with a CPU twin that serves as its reference.
 */
package io.minference.kernels;
