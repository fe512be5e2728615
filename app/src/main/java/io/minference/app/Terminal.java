package io.minference.app;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Whether a standard stream is an interactive terminal. Java's Console only answers for stdin and stdout together,
 * and the progress bar needs to know about stderr alone, so this asks the C library's isatty.
 */
final class Terminal {
    static final int STDERR = 2;

    private Terminal() {
    }

    static boolean isTerminal(int fd) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(fd) == 1 && !"dumb".equals(System.getenv("TERM"));
        } catch (Throwable notAvailable) {
            // No isatty (or no native access): sparse progress lines are the safe choice.
            return false;
        }
    }
}
