/**
 * The CPU backend: worker threads of its own over all cores ({@code ParallelLoop}, which
 * spin between the many short loops of a decode token), and Vector API matrix products on F32 host tensors and on
 * quantized weights read in place ({@code FusedMatvec} for decode).
 */
package io.minference.runtime.cpu;
