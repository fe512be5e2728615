package io.minference.runtime.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/** Generated code runs, and the AMX setting is read strictly. */
class NativeCodeTest {
    @Test
    void generatedCodeIsCalledLikeACFunction() throws Throwable {
        assumeTrue(System.getProperty("os.arch").equals("amd64") && System.getProperty("os.name").equals("Linux"),
                "x86-64 Linux only");
        // long f(long a, long b) { return a + 1000 + b·0 ... }: rax = rdi, rax += 1000, return
        X86Assembler a = new X86Assembler();
        a.movRegister(X86Assembler.RAX, X86Assembler.RDI);
        a.addImmediate(X86Assembler.RAX, 1000);
        a.ret();
        MethodHandle f = NativeCode.load(a.toBytes(), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG), false);
        assertEquals(1_000_041L, (long) f.invokeExact(999_041L));
        MethodHandle critical = NativeCode.load(a.toBytes(), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG), true);
        assertEquals(-1000L + 1000, (long) critical.invokeExact(-1000L));
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
