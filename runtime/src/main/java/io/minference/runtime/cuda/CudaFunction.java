package io.minference.runtime.cuda;

import java.lang.foreign.MemorySegment;

/** A kernel entry of a loaded module ({@code CUfunction}) and its attributes. */
public final class CudaFunction {
    /** The {@code CUfunction_attribute} values that matter here, from cuda.h. */
    public enum Attribute {
        MAX_THREADS_PER_BLOCK(0), SHARED_SIZE_BYTES(1), CONST_SIZE_BYTES(2), LOCAL_SIZE_BYTES(3), NUM_REGS(4),
        PTX_VERSION(5), BINARY_VERSION(6), MAX_DYNAMIC_SHARED_SIZE_BYTES(8);

        final int code;

        Attribute(int code) {
            this.code = code;
        }
    }

    private static final int DEFAULT_DYNAMIC_SHARED_LIMIT = 48 * 1024;

    private final CudaContext context;
    private final MemorySegment handle;
    private final String name;
    private int dynamicSharedLimit = DEFAULT_DYNAMIC_SHARED_LIMIT;

    CudaFunction(CudaContext context, MemorySegment handle, String name) {
        this.context = context;
        this.handle = handle;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public MemorySegment handle() {
        return handle;
    }

    public int attribute(Attribute attribute) {
        context.makeCurrent();
        return context.driver().functionAttribute(handle, attribute.code);
    }

    public int registerCount() {
        return attribute(Attribute.NUM_REGS);
    }

    /**
     * Makes sure launches may ask for {@code bytes} of dynamic shared memory: beyond 48 KB a function must opt in,
     * up to the device's opt-in limit less the function's static shared memory.
     */
    public synchronized void allowDynamicShared(int bytes) {
        if (bytes <= dynamicSharedLimit) return;
        CudaDevice device = context.device();
        int available = device.maxSharedBytesPerBlockOptin() - attribute(Attribute.SHARED_SIZE_BYTES);
        if (bytes > available) {
            throw new IllegalArgumentException("kernel '" + name + "' asks for " + bytes
                    + " bytes of dynamic shared memory but " + device.name() + " allows " + available
                    + " (opt-in limit " + device.maxSharedBytesPerBlockOptin() + " less static shared memory)");
        }
        context.makeCurrent();
        context.driver().setFunctionAttribute(handle, Attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES.code, bytes);
        dynamicSharedLimit = bytes;
    }
}
