/**
 * The CUDA backend in pure Java: the driver API ({@code libcuda.so.1}) and cuBLASLt bound at run time through
 * java.lang.foreign, with no JNI and no native build. Device memory, streams, events, modules and graphs are Java
 * objects released deterministically ({@link java.lang.AutoCloseable}); PTX from the kernel DSL
 * ({@link io.minference.ptx.KernelSource}) is JIT-loaded once per context and launched as a {@link
 * io.minference.runtime.cuda.Kernel}. Every failing call raises a {@link io.minference.runtime.cuda.CudaException}
 * naming the call and the error; a machine without the driver gets a {@link
 * io.minference.runtime.cuda.CudaUnavailableException} saying which part is missing.
 */
package io.minference.runtime.cuda;
