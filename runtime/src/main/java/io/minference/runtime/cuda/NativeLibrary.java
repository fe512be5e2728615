package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A shared library opened at run time through the dynamic loader, and the downcall handles bound to its symbols.
 * Nothing is linked at build time: a machine without the library simply fails {@link #open}.
 */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String name;
    private final SymbolLookup symbols;

    private NativeLibrary(String name, SymbolLookup symbols) {
        this.name = name;
        this.symbols = symbols;
    }

    /**
     * Opens the first of {@code candidates} (sonames or paths) that the dynamic loader can load.
     *
     * @param tried receives one line per candidate that failed, for the caller's error message
     */
    static Optional<NativeLibrary> open(List<String> candidates, List<String> tried) {
        for (String candidate : candidates) {
            try {
                // the global arena keeps the library loaded for the life of the JVM, as the driver expects
                return Optional.of(new NativeLibrary(candidate, SymbolLookup.libraryLookup(candidate, Arena.global())));
            } catch (IllegalArgumentException notLoadable) {
                tried.add(candidate);
            }
        }
        return Optional.empty();
    }

    static Optional<NativeLibrary> open(List<String> candidates) {
        return open(candidates, new ArrayList<>());
    }

    String name() {
        return name;
    }

    boolean has(String symbol) {
        return symbols.find(symbol).isPresent();
    }

    /** Binds {@code symbol}; a missing one is an error that names the library and the symbol. */
    MethodHandle bind(String symbol, FunctionDescriptor descriptor) {
        MemorySegment address = symbols.find(symbol)
                .orElseThrow(() -> new MissingSymbolException(name + " has no symbol " + symbol
                        + " (the library is older than this runtime needs)"));
        return LINKER.downcallHandle(address, descriptor);
    }

    /** Binds the first of {@code symbols} that the library exports (a newer versioned name before an older one). */
    MethodHandle bindFirst(FunctionDescriptor descriptor, String... symbolNames) {
        for (String symbol : symbolNames) {
            if (has(symbol)) return bind(symbol, descriptor);
        }
        throw new MissingSymbolException(name + " has none of the symbols " + String.join(", ", symbolNames));
    }

    /** A symbol the opened library lacks. */
    static final class MissingSymbolException extends RuntimeException {
        MissingSymbolException(String message) {
            super(message);
        }
    }
}
