package io.minference.runtime.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/** Generated code runs, and the AMX setting is read strictly. */
class NativeCodeTest {
    @Test
    void generatedCodeIsCalledLikeACFunction() throws Throwable {
        assumeTrue(System.getProperty("os.arch").equals("amd64") && System.getProperty("os.name").equals("Linux"),
                "x86-64 Linux only");
        // long f(long* p) { return p[1] + 1000; }: an argument, a load through it, arithmetic, the result in rax
        X86Assembler a = new X86Assembler();
        a.load64(X86Assembler.RAX, X86Assembler.RDI, 8);
        a.addImmediate(X86Assembler.RAX, 1000);
        a.ret();
        FunctionDescriptor signature = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = arena.allocate(16);
            values.set(ValueLayout.JAVA_LONG, 8, 999_041L);
            MethodHandle f = NativeCode.load(a.toBytes(), signature, false);
            assertEquals(1_000_041L, (long) f.invokeExact(values));
            values.set(ValueLayout.JAVA_LONG, 8, -1000L);
            MethodHandle critical = NativeCode.load(a.toBytes(), signature, true);
            assertEquals(0L, (long) critical.invokeExact(values));
        }
    }

    @Test
    void theAmxSettingTakesTrueOrFalseOnly() {
        assertTrue(AmxSupport.wanted(null));
        assertTrue(AmxSupport.wanted("TRUE"));
        assertTrue(!AmxSupport.wanted("false"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AmxSupport.wanted("yes"));
        assertEquals("-Dminference.cpu.amx must be true or false, got 'yes'", e.getMessage());
    }

    @Test
    void availabilityHasAReasonWhenItIsMissing() {
        assertEquals(AmxSupport.available(), AmxSupport.unavailableBecause() == null);
        System.out.println("AMX kernels: " + (AmxSupport.available() ? "available" : AmxSupport.unavailableBecause()));
    }
}
