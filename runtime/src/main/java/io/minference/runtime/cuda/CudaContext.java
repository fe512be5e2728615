package io.minference.runtime.cuda;

import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A device's primary context (the one the CUDA runtime and cuBLASLt also use), retained for the life of this object.
 * Everything allocated or loaded on the device goes through it: buffers, streams, events, and the modules it caches
 * by PTX text and target so that each module is JIT-compiled once per context.
 */
public final class CudaContext implements AutoCloseable {
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    private final CudaDriver driver;
    private final CudaDevice device;
    private final int deviceHandle;
    private final MemorySegment handle;
    private final Map<ModuleKey, CudaModule> modules = new HashMap<>();
    private final AtomicLong liveAllocations = new AtomicLong();
    private volatile boolean closed;

    private record ModuleKey(String ptx, PtxTarget target) {
    }

    private CudaContext(CudaDriver driver, CudaDevice device, int deviceHandle, MemorySegment handle) {
        this.driver = driver;
        this.device = device;
        this.deviceHandle = deviceHandle;
        this.handle = handle;
    }

    /** Retains the primary context of device {@code ordinal} and makes it current on this thread. */
    public static CudaContext open(int ordinal) {
        CudaDriver driver = CudaDriver.get();
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("cuda:" + ordinal + " does not exist: this machine has " + count
                    + " CUDA device(s), numbered from 0");
        }
        int deviceHandle = driver.device(ordinal);
        CudaDevice device = CudaDevice.query(driver, ordinal);
        CudaContext context = new CudaContext(driver, device, deviceHandle, driver.primaryContextRetain(deviceHandle));
        context.makeCurrent();
        return context;
    }

    public CudaDriver driver() {
        return driver;
    }

    public CudaDevice device() {
        return device;
    }

    /**
     * Makes this context current on the calling thread; every operation calls it first, so that objects of one
     * context may be used from any thread. Cheap when it already is.
     */
    public void makeCurrent() {
        ensureOpen();
        if (CURRENT.get() != this) {
            driver.contextSetCurrent(handle);
            CURRENT.set(this);
        }
    }

    void ensureOpen() {
        if (closed) throw new IllegalStateException("the CUDA context of " + device.name() + " is closed");
    }

    boolean isClosed() {
        return closed;
    }

    /** Allocates {@code bytes} of device memory (uninitialised). */
    public DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("a device buffer needs a positive size, got " + bytes);
        makeCurrent();
        long address = driver.memAlloc(bytes);
        liveAllocations.incrementAndGet();
        return new DeviceBuffer(this, address, bytes, true);
    }

    void released(long address) {
        makeCurrent();
        driver.memFree(address);
        liveAllocations.decrementAndGet();
    }

    /** Device buffers allocated through this context and not yet closed. */
    public long liveAllocations() {
        return liveAllocations.get();
    }

    /** Page-locked host memory of {@code bytes}. */
    public PinnedHostBuffer allocatePinned(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("a pinned buffer needs a positive size, got " + bytes);
        makeCurrent();
        return new PinnedHostBuffer(this, driver.memAllocHost(bytes));
    }

    public MemoryInfo memoryInfo() {
        makeCurrent();
        long[] info = driver.memoryInfo();
        return new MemoryInfo(info[0], info[1]);
    }

    /** A new non-blocking stream. */
    public CudaStream createStream() {
        makeCurrent();
        return new CudaStream(this);
    }

    public CudaEvent createEvent() {
        makeCurrent();
        return new CudaEvent(this);
    }

    /** Waits for all work of this context. */
    public void synchronize() {
        makeCurrent();
        driver.contextSynchronize();
    }

    /** The loaded module holding {@code source}, JIT-compiled on first use and cached by its PTX text and target. */
    public synchronized CudaModule module(KernelSource source) {
        makeCurrent();
        if (!device.runs(source.target())) {
            throw new IllegalArgumentException("kernel '" + source.entryName() + "' was emitted for "
                    + source.target().arch() + " but " + device.name() + " has compute capability "
                    + device.computeCapability());
        }
        ModuleKey key = new ModuleKey(source.ptx(), source.target());
        CudaModule module = modules.get(key);
        if (module == null) {
            module = CudaModule.load(this, source.ptx(), "module of kernel '" + source.entryName() + "'");
            modules.put(key, module);
        }
        return module;
    }

    /** Modules loaded so far. */
    public synchronized int loadedModuleCount() {
        return modules.size();
    }

    /** Binds {@code source} to a launch shape; its module is loaded (once per context) now. */
    public Kernel kernel(KernelSource source, LaunchShape shape) {
        return new Kernel(this, source, module(source).function(source.entryName()), shape);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        makeCurrent();
        for (CudaModule module : modules.values()) module.unload();
        modules.clear();
        closed = true;
        CURRENT.remove();
        driver.contextSetCurrent(MemorySegment.NULL);
        driver.primaryContextRelease(deviceHandle);
    }
}
