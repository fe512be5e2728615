/**
 * The CPU backend: a dedicated thread pool over all cores and Vector API matrix products on F32 host tensors.
 */
package io.minference.runtime.cpu;
