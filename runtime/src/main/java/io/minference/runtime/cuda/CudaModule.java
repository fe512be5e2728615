package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A PTX module JIT-compiled by the driver ({@code cuModuleLoadDataEx}) with its info and error logs captured: a
 * module that fails to compile raises a {@link CudaException} whose message carries the JIT error log. Modules are
 * owned and unloaded by their {@link CudaContext}.
 */
public final class CudaModule {
    private static final int LOG_BYTES = 64 * 1024;
    // CUjit_option values from cuda.h
    private static final int JIT_INFO_LOG_BUFFER = 3;
    private static final int JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    private static final int JIT_ERROR_LOG_BUFFER = 5;
    private static final int JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    private static final int JIT_LOG_VERBOSE = 12;

    private final CudaContext context;
    private final MemorySegment handle;
    private final String infoLog;
    private final Map<String, CudaFunction> functions = new HashMap<>();

    private CudaModule(CudaContext context, MemorySegment handle, String infoLog) {
        this.context = context;
        this.handle = handle;
        this.infoLog = infoLog;
    }

    /** JIT-compiles {@code ptx} in the current context; {@code description} names it in errors. */
    static CudaModule load(CudaContext context, String ptx, String description) {
        CudaDriver driver = context.driver();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment infoLog = arena.allocate(LOG_BYTES);
            MemorySegment errorLog = arena.allocate(LOG_BYTES);
            int[] options = {JIT_INFO_LOG_BUFFER, JIT_INFO_LOG_BUFFER_SIZE_BYTES, JIT_ERROR_LOG_BUFFER,
                    JIT_ERROR_LOG_BUFFER_SIZE_BYTES, JIT_LOG_VERBOSE};
            // option values are pointer-sized; integers travel as the pointer's bits, as cuda.h documents
            MemorySegment[] values = {infoLog, MemorySegment.ofAddress(LOG_BYTES), errorLog,
                    MemorySegment.ofAddress(LOG_BYTES), MemorySegment.ofAddress(1)};
            MemorySegment optionArray = arena.allocateFrom(JAVA_INT, options);
            MemorySegment valueArray = arena.allocate(ADDRESS, values.length);
            for (int i = 0; i < values.length; i++) valueArray.setAtIndex(ADDRESS, i, values[i]);
            MemorySegment image = arena.allocateFrom(ptx);
            MemorySegment moduleOut = arena.allocate(ADDRESS);

            int result = driver.moduleLoadDataEx(moduleOut, image, options.length, optionArray, valueArray);
            String info = infoLog.getString(0).strip();
            if (result != 0) {
                String error = errorLog.getString(0).strip();
                throw driver.error("cuModuleLoadDataEx", result, "while JIT-compiling the " + description
                        + "\nJIT error log:\n" + (error.isEmpty() ? "(empty)" : error)
                        + (info.isEmpty() ? "" : "\nJIT info log:\n" + info));
            }
            return new CudaModule(context, moduleOut.get(ADDRESS, 0), info);
        }
    }

    /** What the JIT compiler reported (registers, spills...) for a module that compiled. */
    public String infoLog() {
        return infoLog;
    }

    /** The entry {@code name}, looked up once. */
    public synchronized CudaFunction function(String name) {
        context.makeCurrent();
        return functions.computeIfAbsent(name,
                entry -> new CudaFunction(context, context.driver().moduleGetFunction(handle, entry), entry));
    }

    void unload() {
        functions.clear();
        context.driver().moduleUnload(handle);
    }
}
