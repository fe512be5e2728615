/**
 * Machine code for the host's cores, generated in Java: what the PTX emitter is to the GPU, on a small scale. The
 * Vector API has no 8-bit dot product, so the CPU backend's int8 prefill product runs on Intel's AMX tiles through a
 * kernel written here, one Java call per instruction ({@link io.minference.runtime.cpu.x86.X86Assembler}), copied
 * into executable pages and called through a downcall handle ({@link io.minference.runtime.cpu.x86.NativeCode}).
 * {@link io.minference.runtime.cpu.x86.AmxSupport} says whether this process may run them, and why not.
 *
 * <p>To add an instruction: write its encoder beside the others (VEX for AMX, EVEX for AVX-512), and add the GNU
 * assembler's bytes for it to {@code X86AssemblerTest} (assemble the Intel-syntax line with {@code as} and read them
 * off {@code objdump -d}). Every kernel keeps a Vector API twin that its tests compare it with.
 */
package io.minference.runtime.cpu.x86;
