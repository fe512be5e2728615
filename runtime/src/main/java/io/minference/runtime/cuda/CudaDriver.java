package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API ({@code libcuda.so.1}) bound through java.lang.foreign. Each method calls one driver function
 * and turns a non-zero {@code CUresult} into a {@link CudaException} naming the function and the error. Handles are
 * {@link MemorySegment} addresses; device pointers are {@code long}. The versioned symbols ({@code _v2}) are bound by
 * name, as cuda.h's macros would.
 */
public final class CudaDriver {
    /** The driver library's soname. */
    public static final String LIBRARY = "libcuda.so.1";

    private static final Object LOCK = new Object();
    private static Probe probed;

    private record Probe(CudaAvailability availability, CudaDriver driver) {
    }

    private final MethodHandle cuInit, cuDriverGetVersion, cuGetErrorName, cuGetErrorString;
    private final MethodHandle cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute, cuDeviceTotalMem;
    private final MethodHandle cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuCtxSynchronize;
    private final MethodHandle cuMemGetInfo, cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost;
    private final MethodHandle cuMemsetD8, cuMemsetD32, cuMemsetD8Async, cuMemsetD32Async;
    private final MethodHandle cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyDtoD;
    private final MethodHandle cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync;
    private final MethodHandle cuStreamCreate, cuStreamSynchronize, cuStreamDestroy, cuStreamWaitEvent;
    private final MethodHandle cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy;
    private final MethodHandle cuModuleLoadDataEx, cuModuleGetFunction, cuModuleUnload;
    private final MethodHandle cuFuncGetAttribute, cuFuncSetAttribute, cuLaunchKernel;
    private final MethodHandle cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiateWithFlags, cuGraphLaunch;
    private final MethodHandle cuGraphExecDestroy, cuGraphDestroy;
    /** Null on drivers older than CUDA 12, which cannot run TMA kernels anyway. */
    private final MethodHandle cuTensorMapEncodeTiled;

    private CudaDriver(NativeLibrary lib) {
        cuInit = lib.bind("cuInit", fn(JAVA_INT));
        cuDriverGetVersion = lib.bind("cuDriverGetVersion", fn(ADDRESS));
        cuGetErrorName = lib.bind("cuGetErrorName", fn(JAVA_INT, ADDRESS));
        cuGetErrorString = lib.bind("cuGetErrorString", fn(JAVA_INT, ADDRESS));
        cuDeviceGetCount = lib.bind("cuDeviceGetCount", fn(ADDRESS));
        cuDeviceGet = lib.bind("cuDeviceGet", fn(ADDRESS, JAVA_INT));
        cuDeviceGetName = lib.bind("cuDeviceGetName", fn(ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetAttribute = lib.bind("cuDeviceGetAttribute", fn(ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = lib.bind("cuDeviceTotalMem_v2", fn(ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRetain = lib.bind("cuDevicePrimaryCtxRetain", fn(ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRelease = lib.bind("cuDevicePrimaryCtxRelease_v2", fn(JAVA_INT));
        cuCtxSetCurrent = lib.bind("cuCtxSetCurrent", fn(ADDRESS));
        cuCtxSynchronize = lib.bind("cuCtxSynchronize", fn());
        cuMemGetInfo = lib.bind("cuMemGetInfo_v2", fn(ADDRESS, ADDRESS));
        cuMemAlloc = lib.bind("cuMemAlloc_v2", fn(ADDRESS, JAVA_LONG));
        cuMemFree = lib.bind("cuMemFree_v2", fn(JAVA_LONG));
        cuMemAllocHost = lib.bind("cuMemAllocHost_v2", fn(ADDRESS, JAVA_LONG));
        cuMemFreeHost = lib.bind("cuMemFreeHost", fn(ADDRESS));
        cuMemsetD8 = lib.bind("cuMemsetD8_v2", fn(JAVA_LONG, JAVA_BYTE, JAVA_LONG));
        cuMemsetD32 = lib.bind("cuMemsetD32_v2", fn(JAVA_LONG, JAVA_INT, JAVA_LONG));
        cuMemsetD8Async = lib.bind("cuMemsetD8Async", fn(JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS));
        cuMemsetD32Async = lib.bind("cuMemsetD32Async", fn(JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
        cuMemcpyHtoD = lib.bind("cuMemcpyHtoD_v2", fn(JAVA_LONG, ADDRESS, JAVA_LONG));
        cuMemcpyDtoH = lib.bind("cuMemcpyDtoH_v2", fn(ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoD = lib.bind("cuMemcpyDtoD_v2", fn(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemcpyHtoDAsync = lib.bind("cuMemcpyHtoDAsync_v2", fn(JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemcpyDtoHAsync = lib.bind("cuMemcpyDtoHAsync_v2", fn(ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemcpyDtoDAsync = lib.bind("cuMemcpyDtoDAsync_v2", fn(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuStreamCreate = lib.bind("cuStreamCreate", fn(ADDRESS, JAVA_INT));
        cuStreamSynchronize = lib.bind("cuStreamSynchronize", fn(ADDRESS));
        cuStreamDestroy = lib.bind("cuStreamDestroy_v2", fn(ADDRESS));
        cuStreamWaitEvent = lib.bind("cuStreamWaitEvent", fn(ADDRESS, ADDRESS, JAVA_INT));
        cuEventCreate = lib.bind("cuEventCreate", fn(ADDRESS, JAVA_INT));
        cuEventRecord = lib.bind("cuEventRecord", fn(ADDRESS, ADDRESS));
        cuEventSynchronize = lib.bind("cuEventSynchronize", fn(ADDRESS));
        // CUDA 12.8 added _v2 and cuda.h 13 maps cuEventElapsedTime to it; older drivers export only the first
        cuEventElapsedTime = lib.bindFirst(fn(ADDRESS, ADDRESS, ADDRESS), "cuEventElapsedTime_v2", "cuEventElapsedTime");
        cuEventDestroy = lib.bind("cuEventDestroy_v2", fn(ADDRESS));
        cuModuleLoadDataEx = lib.bind("cuModuleLoadDataEx", fn(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        cuModuleGetFunction = lib.bind("cuModuleGetFunction", fn(ADDRESS, ADDRESS, ADDRESS));
        cuModuleUnload = lib.bind("cuModuleUnload", fn(ADDRESS));
        cuFuncGetAttribute = lib.bind("cuFuncGetAttribute", fn(ADDRESS, JAVA_INT, ADDRESS));
        cuFuncSetAttribute = lib.bind("cuFuncSetAttribute", fn(ADDRESS, JAVA_INT, JAVA_INT));
        cuLaunchKernel = lib.bind("cuLaunchKernel", fn(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuStreamBeginCapture = lib.bind("cuStreamBeginCapture_v2", fn(ADDRESS, JAVA_INT));
        cuStreamEndCapture = lib.bind("cuStreamEndCapture", fn(ADDRESS, ADDRESS));
        cuGraphInstantiateWithFlags = lib.bind("cuGraphInstantiateWithFlags", fn(ADDRESS, ADDRESS, JAVA_LONG));
        cuGraphLaunch = lib.bind("cuGraphLaunch", fn(ADDRESS, ADDRESS));
        cuGraphExecDestroy = lib.bind("cuGraphExecDestroy", fn(ADDRESS));
        cuGraphDestroy = lib.bind("cuGraphDestroy", fn(ADDRESS));
        cuTensorMapEncodeTiled = lib.has("cuTensorMapEncodeTiled") ? lib.bind("cuTensorMapEncodeTiled", fn(ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT)) : null;
    }

    private static FunctionDescriptor fn(MemoryLayout... arguments) {
        return FunctionDescriptor.of(JAVA_INT, arguments);
    }

    // ---------------------------------------------------------------- probing

    /** Probes the driver once per JVM: which part is missing, or how many devices there are. Never throws. */
    public static CudaAvailability availability() {
        return probeOnce().availability();
    }

    /** The initialised driver; throws {@link CudaUnavailableException} saying what is missing otherwise. */
    public static CudaDriver get() {
        Probe probe = probeOnce();
        if (probe.driver() == null) throw new CudaUnavailableException("CUDA is unavailable: " + probe.availability().reason());
        return probe.driver();
    }

    private static Probe probeOnce() {
        synchronized (LOCK) {
            if (probed == null) probed = probe(List.of(LIBRARY));
            return probed;
        }
    }

    /** Probes the driver from the given library candidates (tests point it at libraries that are not the driver). */
    static CudaAvailability probeLibrary(String library) {
        return probe(List.of(library)).availability();
    }

    private static Probe probe(List<String> candidates) {
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.open(candidates, tried).orElse(null);
        if (lib == null) {
            return new Probe(CudaAvailability.missing("the NVIDIA driver library " + String.join(" or ", tried)
                    + " was not found by the dynamic loader (no NVIDIA driver installed?)"), null);
        }
        CudaDriver driver;
        try {
            driver = new CudaDriver(lib);
        } catch (NativeLibrary.MissingSymbolException e) {
            return new Probe(CudaAvailability.missing(e.getMessage()), null);
        }
        int init = driver.call(() -> (int) driver.cuInit.invokeExact(0));
        if (init != 0) {
            return new Probe(CudaAvailability.missing("cuInit failed in " + lib.name() + ": " + driver.errorName(init)
                    + ": " + driver.errorString(init)), null);
        }
        int version = driver.driverVersion();
        int count = driver.deviceCount();
        if (count == 0) {
            return new Probe(CudaAvailability.missing("the CUDA driver " + version / 1000 + "." + version % 1000 / 10
                    + " found no CUDA device"), null);
        }
        return new Probe(new CudaAvailability(true, "CUDA driver " + version / 1000 + "." + version % 1000 / 10
                + " with " + count + " device(s)", count, version), driver);
    }

    // ---------------------------------------------------------------- error handling

    @FunctionalInterface
    private interface NativeCall {
        int invoke() throws Throwable;
    }

    private int call(NativeCall call) {
        try {
            return call.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("unexpected checked exception from a native call", t);
        }
    }

    private void check(String function, NativeCall call) {
        int result = call(call);
        if (result != 0) throw error(function, result, null);
    }

    /** The exception for a failed call, with the driver's name and description of {@code result}. */
    CudaException error(String function, int result, String detail) {
        return new CudaException(function, result, errorName(result), errorString(result), detail);
    }

    String errorName(int result) {
        return describe(cuGetErrorName, result, "CUresult " + result);
    }

    String errorString(int result) {
        return describe(cuGetErrorString, result, "");
    }

    private String describe(MethodHandle function, int result, String fallback) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(ADDRESS);
            int status = call(() -> (int) function.invokeExact(result, text));
            MemorySegment chars = text.get(ADDRESS, 0);
            if (status != 0 || chars.equals(MemorySegment.NULL)) return fallback;
            return chars.reinterpret(4096).getString(0);
        }
    }

    // ---------------------------------------------------------------- driver and devices

    public int driverVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDriverGetVersion", () -> (int) cuDriverGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        }
    }

    public int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetCount", () -> (int) cuDeviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        }
    }

    /** The {@code CUdevice} handle of device {@code ordinal}. */
    public int device(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGet", () -> (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        }
    }

    public String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(256);
            check("cuDeviceGetName", () -> (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        }
    }

    /** A {@code CU_DEVICE_ATTRIBUTE_*} value. */
    public int deviceAttribute(int device, int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", () -> (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        }
    }

    public long deviceTotalMemory(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", () -> (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        }
    }

    // ---------------------------------------------------------------- contexts

    public MemorySegment primaryContextRetain(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuDevicePrimaryCtxRetain", () -> (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
            return out.get(ADDRESS, 0);
        }
    }

    public void primaryContextRelease(int device) {
        check("cuDevicePrimaryCtxRelease_v2", () -> (int) cuDevicePrimaryCtxRelease.invokeExact(device));
    }

    public void contextSetCurrent(MemorySegment context) {
        check("cuCtxSetCurrent", () -> (int) cuCtxSetCurrent.invokeExact(context));
    }

    public void contextSynchronize() {
        check("cuCtxSynchronize", () -> (int) cuCtxSynchronize.invokeExact());
    }

    // ---------------------------------------------------------------- memory

    /** Free and total device memory of the current context's device, in bytes. */
    public long[] memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            check("cuMemGetInfo_v2", () -> (int) cuMemGetInfo.invokeExact(free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    public long memAlloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int result = call(() -> (int) cuMemAlloc.invokeExact(out, bytes));
            if (result != 0) throw error("cuMemAlloc_v2", result, "while allocating " + bytes + " bytes");
            return out.get(JAVA_LONG, 0);
        }
    }

    public void memFree(long pointer) {
        check("cuMemFree_v2", () -> (int) cuMemFree.invokeExact(pointer));
    }

    /** Page-locked host memory, usable by asynchronous copies and graph-captured copies. */
    public MemorySegment memAllocHost(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int result = call(() -> (int) cuMemAllocHost.invokeExact(out, bytes));
            if (result != 0) throw error("cuMemAllocHost_v2", result, "while allocating " + bytes + " pinned bytes");
            return out.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    public void memFreeHost(MemorySegment pointer) {
        check("cuMemFreeHost", () -> (int) cuMemFreeHost.invokeExact(pointer));
    }

    public void memsetD8(long pointer, byte value, long count) {
        check("cuMemsetD8_v2", () -> (int) cuMemsetD8.invokeExact(pointer, value, count));
    }

    public void memsetD32(long pointer, int value, long count) {
        check("cuMemsetD32_v2", () -> (int) cuMemsetD32.invokeExact(pointer, value, count));
    }

    public void memsetD8Async(long pointer, byte value, long count, MemorySegment stream) {
        check("cuMemsetD8Async", () -> (int) cuMemsetD8Async.invokeExact(pointer, value, count, stream));
    }

    public void memsetD32Async(long pointer, int value, long count, MemorySegment stream) {
        check("cuMemsetD32Async", () -> (int) cuMemsetD32Async.invokeExact(pointer, value, count, stream));
    }

    public void memcpyHtoD(long destination, MemorySegment source, long bytes) {
        check("cuMemcpyHtoD_v2", () -> (int) cuMemcpyHtoD.invokeExact(destination, source, bytes));
    }

    public void memcpyDtoH(MemorySegment destination, long source, long bytes) {
        check("cuMemcpyDtoH_v2", () -> (int) cuMemcpyDtoH.invokeExact(destination, source, bytes));
    }

    public void memcpyDtoD(long destination, long source, long bytes) {
        check("cuMemcpyDtoD_v2", () -> (int) cuMemcpyDtoD.invokeExact(destination, source, bytes));
    }

    public void memcpyHtoDAsync(long destination, MemorySegment source, long bytes, MemorySegment stream) {
        check("cuMemcpyHtoDAsync_v2", () -> (int) cuMemcpyHtoDAsync.invokeExact(destination, source, bytes, stream));
    }

    public void memcpyDtoHAsync(MemorySegment destination, long source, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoHAsync_v2", () -> (int) cuMemcpyDtoHAsync.invokeExact(destination, source, bytes, stream));
    }

    public void memcpyDtoDAsync(long destination, long source, long bytes, MemorySegment stream) {
        check("cuMemcpyDtoDAsync_v2", () -> (int) cuMemcpyDtoDAsync.invokeExact(destination, source, bytes, stream));
    }

    // ---------------------------------------------------------------- streams and events

    public MemorySegment streamCreate(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuStreamCreate", () -> (int) cuStreamCreate.invokeExact(out, flags));
            return out.get(ADDRESS, 0);
        }
    }

    public void streamSynchronize(MemorySegment stream) {
        check("cuStreamSynchronize", () -> (int) cuStreamSynchronize.invokeExact(stream));
    }

    public void streamDestroy(MemorySegment stream) {
        check("cuStreamDestroy_v2", () -> (int) cuStreamDestroy.invokeExact(stream));
    }

    /** Makes work queued later on {@code stream} wait for the event's last recorded work (flags 0). */
    public void streamWaitEvent(MemorySegment stream, MemorySegment event) {
        check("cuStreamWaitEvent", () -> (int) cuStreamWaitEvent.invokeExact(stream, event, 0));
    }

    public MemorySegment eventCreate(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuEventCreate", () -> (int) cuEventCreate.invokeExact(out, flags));
            return out.get(ADDRESS, 0);
        }
    }

    public void eventRecord(MemorySegment event, MemorySegment stream) {
        check("cuEventRecord", () -> (int) cuEventRecord.invokeExact(event, stream));
    }

    public void eventSynchronize(MemorySegment event) {
        check("cuEventSynchronize", () -> (int) cuEventSynchronize.invokeExact(event));
    }

    /** Milliseconds between two recorded events. */
    public float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", () -> (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(JAVA_FLOAT, 0);
        }
    }

    public void eventDestroy(MemorySegment event) {
        check("cuEventDestroy_v2", () -> (int) cuEventDestroy.invokeExact(event));
    }

    // ---------------------------------------------------------------- modules and launches

    /** Raw {@code cuModuleLoadDataEx}: returns the CUresult so that the caller can attach the JIT log. */
    int moduleLoadDataEx(MemorySegment moduleOut, MemorySegment image, int optionCount, MemorySegment options,
                         MemorySegment optionValues) {
        return call(() -> (int) cuModuleLoadDataEx.invokeExact(moduleOut, image, optionCount, options, optionValues));
    }

    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment cName = arena.allocateFrom(name);
            int result = call(() -> (int) cuModuleGetFunction.invokeExact(out, module, cName));
            if (result != 0) throw error("cuModuleGetFunction", result, "looking up the entry '" + name + "'");
            return out.get(ADDRESS, 0);
        }
    }

    public void moduleUnload(MemorySegment module) {
        check("cuModuleUnload", () -> (int) cuModuleUnload.invokeExact(module));
    }

    /** A {@code CU_FUNC_ATTRIBUTE_*} value. */
    public int functionAttribute(MemorySegment function, int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuFuncGetAttribute", () -> (int) cuFuncGetAttribute.invokeExact(out, attribute, function));
            return out.get(JAVA_INT, 0);
        }
    }

    public void setFunctionAttribute(MemorySegment function, int attribute, int value) {
        check("cuFuncSetAttribute", () -> (int) cuFuncSetAttribute.invokeExact(function, attribute, value));
    }

    public void launchKernel(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY,
                             int blockZ, int sharedBytes, MemorySegment stream, MemorySegment parameters) {
        int result = call(() -> (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY,
                blockZ, sharedBytes, stream, parameters, MemorySegment.NULL));
        if (result != 0) {
            throw error("cuLaunchKernel", result, "grid (" + gridX + ", " + gridY + ", " + gridZ + "), block ("
                    + blockX + ", " + blockY + ", " + blockZ + "), " + sharedBytes + " dynamic shared bytes");
        }
    }

    // ---------------------------------------------------------------- tensor maps

    /**
     * {@code cuTensorMapEncodeTiled}: writes the 128-byte tensor map of a tiled TMA view into {@code map}. The
     * arrays are in the driver's order, innermost dimension first; {@code globalStrides} has {@code rank - 1}
     * byte strides (dimension 0 is dense). Interleave none, L2 promotion 128 bytes, out-of-bounds elements zero.
     */
    public void encodeTensorMapTiled(MemorySegment map, int dataType, int rank, long globalAddress,
                                     MemorySegment globalDims, MemorySegment globalStrides, MemorySegment boxDims,
                                     MemorySegment elementStrides, int swizzle, String description) {
        if (cuTensorMapEncodeTiled == null) {
            throw new CudaUnavailableException("this CUDA driver has no cuTensorMapEncodeTiled (TMA needs CUDA 12 or "
                    + "newer)");
        }
        int l2Promotion128 = 2;
        int result = call(() -> (int) cuTensorMapEncodeTiled.invokeExact(map, dataType, rank, globalAddress,
                globalDims, globalStrides, boxDims, elementStrides, 0, swizzle, l2Promotion128, 0));
        if (result != 0) throw error("cuTensorMapEncodeTiled", result, description);
    }

    // ---------------------------------------------------------------- graphs

    public void streamBeginCapture(MemorySegment stream, int mode) {
        check("cuStreamBeginCapture_v2", () -> (int) cuStreamBeginCapture.invokeExact(stream, mode));
    }

    /** Ends a capture; returns the graph, or reports the failure (the capture is over either way). */
    public MemorySegment streamEndCapture(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuStreamEndCapture", () -> (int) cuStreamEndCapture.invokeExact(stream, out));
            return out.get(ADDRESS, 0);
        }
    }

    public MemorySegment graphInstantiate(MemorySegment graph, long flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuGraphInstantiateWithFlags", () -> (int) cuGraphInstantiateWithFlags.invokeExact(out, graph, flags));
            return out.get(ADDRESS, 0);
        }
    }

    public void graphLaunch(MemorySegment graphExec, MemorySegment stream) {
        check("cuGraphLaunch", () -> (int) cuGraphLaunch.invokeExact(graphExec, stream));
    }

    public void graphExecDestroy(MemorySegment graphExec) {
        check("cuGraphExecDestroy", () -> (int) cuGraphExecDestroy.invokeExact(graphExec));
    }

    public void graphDestroy(MemorySegment graph) {
        check("cuGraphDestroy", () -> (int) cuGraphDestroy.invokeExact(graph));
    }
}
