package io.minference.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt ({@code libcublasLt.so.13} or {@code .12}) bound through java.lang.foreign; optional: only a GEMM needs it,
 * and its absence is reported then, naming the libraries tried. Each method calls one function and turns a non-zero
 * {@code cublasStatus_t} into a {@link CudaException} with the status's name and description.
 */
public final class CublasLt {
    // enum values from cublasLt.h / cublas_api.h / library_types.h
    static final int COMPUTE_32F = 68;
    static final int CUDA_R_32F = 0;
    static final int CUDA_R_16BF = 14;
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int DESC_TRANSA = 3;
    static final int DESC_TRANSB = 4;
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo (64), workspaceSize (8), state (4), wavesCount (4), reserved. */
    static final long HEURISTIC_RESULT_BYTES = 96;
    static final long ALGO_BYTES = 64;
    static final long HEURISTIC_STATE_OFFSET = 72;

    private static final Object LOCK = new Object();
    private static CublasLt loaded;
    private static String missing;

    private final String libraryName;
    private final MethodHandle create, destroy, statusName, statusString;
    private final MethodHandle descCreate, descSetAttribute, descDestroy;
    private final MethodHandle layoutCreate, layoutDestroy;
    private final MethodHandle preferenceCreate, preferenceSetAttribute, preferenceDestroy;
    private final MethodHandle algoGetHeuristic, matmul;

    private CublasLt(NativeLibrary lib) {
        libraryName = lib.name();
        create = lib.bind("cublasLtCreate", fn(ADDRESS));
        destroy = lib.bind("cublasLtDestroy", fn(ADDRESS));
        statusName = lib.bind("cublasLtGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        statusString = lib.bind("cublasLtGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        descCreate = lib.bind("cublasLtMatmulDescCreate", fn(ADDRESS, JAVA_INT, JAVA_INT));
        descSetAttribute = lib.bind("cublasLtMatmulDescSetAttribute", fn(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        descDestroy = lib.bind("cublasLtMatmulDescDestroy", fn(ADDRESS));
        layoutCreate = lib.bind("cublasLtMatrixLayoutCreate", fn(ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        layoutDestroy = lib.bind("cublasLtMatrixLayoutDestroy", fn(ADDRESS));
        preferenceCreate = lib.bind("cublasLtMatmulPreferenceCreate", fn(ADDRESS));
        preferenceSetAttribute = lib.bind("cublasLtMatmulPreferenceSetAttribute",
                fn(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        preferenceDestroy = lib.bind("cublasLtMatmulPreferenceDestroy", fn(ADDRESS));
        algoGetHeuristic = lib.bind("cublasLtMatmulAlgoGetHeuristic",
                fn(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        matmul = lib.bind("cublasLtMatmul", fn(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    }

    private static FunctionDescriptor fn(MemoryLayout... arguments) {
        return FunctionDescriptor.of(JAVA_INT, arguments);
    }

    /** The sonames first, then the usual toolkit folders (CUDA_HOME first), for machines without an ldconfig entry. */
    static List<String> candidates() {
        List<String> names = List.of("libcublasLt.so.13", "libcublasLt.so.12");
        List<String> candidates = new ArrayList<>(names);
        List<String> folders = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank()) folders.add(cudaHome + "/lib64");
        folders.add("/usr/local/cuda/lib64");
        folders.add("/usr/local/cuda/targets/x86_64-linux/lib");
        for (String folder : folders) {
            for (String name : names) candidates.add(folder + "/" + name);
        }
        return candidates;
    }

    /** cuBLASLt, loaded once; throws {@link CudaUnavailableException} naming the libraries tried when absent. */
    public static CublasLt load() {
        synchronized (LOCK) {
            if (loaded == null && missing == null) {
                try {
                    loaded = load(candidates());
                } catch (CudaUnavailableException e) {
                    missing = e.getMessage();
                }
            }
            if (loaded == null) throw new CudaUnavailableException(missing);
            return loaded;
        }
    }

    /** Loads cuBLASLt from the first loadable candidate (tests point it at names that do not exist). */
    static CublasLt load(List<String> candidates) {
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.open(candidates, tried).orElseThrow(() -> new CudaUnavailableException(
                "cuBLASLt is needed for GEMM but was not found; tried " + String.join(", ", tried)));
        try {
            return new CublasLt(lib);
        } catch (NativeLibrary.MissingSymbolException e) {
            throw new CudaUnavailableException("cuBLASLt is unusable: " + e.getMessage());
        }
    }

    public String libraryName() {
        return libraryName;
    }

    // ---------------------------------------------------------------- status

    @FunctionalInterface
    private interface NativeCall {
        int invoke() throws Throwable;
    }

    private void check(String function, NativeCall call) {
        int status;
        try {
            status = call.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("unexpected checked exception from " + function, t);
        }
        if (status != 0) throw new CudaException(function, status, text(statusName, status), text(statusString, status), null);
    }

    private static String text(MethodHandle describe, int status) {
        try {
            MemorySegment chars = (MemorySegment) describe.invokeExact(status);
            return chars.equals(MemorySegment.NULL) ? "cublasStatus " + status : chars.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "cublasStatus " + status;
        }
    }

    // ---------------------------------------------------------------- handles and descriptors

    private MemorySegment created(String function, MethodHandle creator, Object... arguments) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            Object[] all = new Object[arguments.length + 1];
            all[0] = out;
            System.arraycopy(arguments, 0, all, 1, arguments.length);
            check(function, () -> (int) creator.invokeWithArguments(all));
            return out.get(ADDRESS, 0);
        }
    }

    MemorySegment createHandle() {
        return created("cublasLtCreate", create);
    }

    void destroyHandle(MemorySegment handle) {
        check("cublasLtDestroy", () -> (int) destroy.invokeExact(handle));
    }

    MemorySegment createMatmulDesc(int computeType, int scaleType) {
        return created("cublasLtMatmulDescCreate", descCreate, computeType, scaleType);
    }

    void setMatmulDescInt(MemorySegment desc, int attribute, int value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocateFrom(JAVA_INT, value);
            check("cublasLtMatmulDescSetAttribute",
                    () -> (int) descSetAttribute.invokeExact(desc, attribute, buffer, 4L));
        }
    }

    void destroyMatmulDesc(MemorySegment desc) {
        check("cublasLtMatmulDescDestroy", () -> (int) descDestroy.invokeExact(desc));
    }

    MemorySegment createLayout(int dataType, long rows, long cols, long ld) {
        return created("cublasLtMatrixLayoutCreate", layoutCreate, dataType, rows, cols, ld);
    }

    void destroyLayout(MemorySegment layout) {
        check("cublasLtMatrixLayoutDestroy", () -> (int) layoutDestroy.invokeExact(layout));
    }

    MemorySegment createPreference() {
        return created("cublasLtMatmulPreferenceCreate", preferenceCreate);
    }

    void setPreferenceLong(MemorySegment preference, int attribute, long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocateFrom(JAVA_LONG, value);
            check("cublasLtMatmulPreferenceSetAttribute",
                    () -> (int) preferenceSetAttribute.invokeExact(preference, attribute, buffer, 8L));
        }
    }

    void destroyPreference(MemorySegment preference) {
        check("cublasLtMatmulPreferenceDestroy", () -> (int) preferenceDestroy.invokeExact(preference));
    }

    /** Fills {@code results} (room for {@code requested} heuristic results) and returns how many were written. */
    int algoGetHeuristic(MemorySegment handle, MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c,
                         MemorySegment d, MemorySegment preference, int requested, MemorySegment results) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check("cublasLtMatmulAlgoGetHeuristic", () -> (int) algoGetHeuristic.invokeExact(handle, desc, a, b, c, d,
                    preference, requested, results, count));
            return count.get(JAVA_INT, 0);
        }
    }

    void matmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha, MemorySegment a, MemorySegment aLayout,
                MemorySegment b, MemorySegment bLayout, MemorySegment beta, MemorySegment c, MemorySegment cLayout,
                MemorySegment d, MemorySegment dLayout, MemorySegment algo, MemorySegment workspace,
                long workspaceBytes, MemorySegment stream) {
        check("cublasLtMatmul", () -> (int) matmul.invokeExact(handle, desc, alpha, a, aLayout, b, bLayout, beta, c,
                cLayout, d, dLayout, algo, workspace, workspaceBytes, stream));
    }
}
