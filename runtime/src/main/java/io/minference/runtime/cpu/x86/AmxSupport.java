package io.minference.runtime.cpu.x86;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether this process may run the AMX kernels, and why not when it may not: the CPU must have AMX tiles with int8
 * products and AVX-512, and Linux must grant the process the tile data state (since 5.16 a process asks for it once,
 * through {@code arch_prctl(ARCH_REQ_XCOMP_PERM)}, and an AMX instruction before that kills it).
 *
 * <p>{@code -Dminference.cpu.amx=false} turns the kernels off, for comparing them with the Vector API products or
 * ruling them out; {@code true} (the default) uses them wherever they are available.
 */
public final class AmxSupport {
    private static final long SYS_ARCH_PRCTL = 158;
    private static final long ARCH_REQ_XCOMP_PERM = 0x1023;
    private static final long XFEATURE_XTILEDATA = 18;
    private static final List<String> FLAGS = List.of("amx_tile", "amx_int8", "avx512f");
    private static final String SETTING = "minference.cpu.amx";
    /** The setting's problem, or null: reported by every call rather than by class initialization, which the CLI
     * could only report as an ExceptionInInitializerError without its message. */
    private static final String SETTING_VALUE = System.getProperty(SETTING);
    private static final String BAD_SETTING = settingProblem(SETTING_VALUE);
    private static final String UNAVAILABLE = BAD_SETTING != null ? BAD_SETTING : unavailability();

    private AmxSupport() {
    }

    /**
     * Whether the AMX kernels run here.
     *
     * @throws IllegalArgumentException if {@code -Dminference.cpu.amx} is neither true nor false
     */
    public static boolean available() {
        if (BAD_SETTING != null) throw new IllegalArgumentException(BAD_SETTING);
        return UNAVAILABLE == null;
    }

    /** Why the AMX kernels do not run here, or null when they do. */
    public static String unavailableBecause() {
        return UNAVAILABLE;
    }

    /** What is wrong with the setting's value (unset, true or false, any case), or null. */
    private static String settingProblem(String value) {
        boolean valid = value == null || value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false");
        return valid ? null : "-D" + SETTING + " must be true or false, got '" + value + "'";
    }

    /** Whether the setting asks for the kernels; anything but true or false is an error naming it. */
    static boolean wanted(String value) {
        String problem = settingProblem(value);
        if (problem != null) throw new IllegalArgumentException(problem);
        return !"false".equalsIgnoreCase(value);
    }

    private static String unavailability() {
        if (!wanted(SETTING_VALUE)) return "turned off by -D" + SETTING + "=false";
        if (!System.getProperty("os.arch").equals("amd64") || !System.getProperty("os.name").equals("Linux")) {
            return "AMX kernels run on x86-64 Linux only";
        }
        Set<String> flags = cpuFlags();
        for (String flag : FLAGS) {
            if (!flags.contains(flag)) return "this CPU lacks " + flag;
        }
        try {
            MethodHandle syscall = NativeCode.function("syscall", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1));
            long status = (long) syscall.invokeExact(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
            return status == 0 ? null : "Linux refused the AMX tile state (arch_prctl returned " + status + ")";
        } catch (Throwable t) {
            return "could not ask Linux for the AMX tile state: " + t;
        }
    }

    private static Set<String> cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return new HashSet<>(Arrays.asList(line.substring(line.indexOf(':') + 1).trim().split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
        return Set.of();
    }
}
