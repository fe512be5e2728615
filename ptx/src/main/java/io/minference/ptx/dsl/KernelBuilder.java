package io.minference.ptx.dsl;

import io.minference.ptx.KernelParam;
import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Builds one PTX kernel. The instruction families are mixed in as interfaces ({@link Arithmetic},
 * {@link Memory}, {@link ControlFlow}, {@link MatrixOps} ...), so a kernel body reads {@code k.add(a, b)},
 * {@code k.loadF32(k.element(x, i, 4))}, {@code k.ifThen(k.lt(i, n), () -> ...)}. Parameters are declared in launch
 * order; {@link #build()} renders the module.
 */
public final class KernelBuilder implements Values, Arithmetic, FloatMath, Conversions, Comparisons, Memory,
        ControlFlow, SpecialRegisters, Synchronization, WarpOps, Atomics, AsyncCopy, MatrixOps, MBarriers, TensorCopy,
        WarpgroupOps, Clusters {
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");
    private static final String DYNAMIC_SHARED = "dynamic_smem";

    private final String entryName;
    private final PtxTarget target;
    private final Emitter emitter = new Emitter();
    private final List<KernelParam> params = new ArrayList<>();
    private final List<String> sharedDeclarations = new ArrayList<>();
    private final Set<String> symbols = new HashSet<>();
    private final List<String> description = new ArrayList<>();
    private int dynamicSharedBytes = -1;
    private int dynamicSharedAlignment = 16;
    private int maxThreads;
    private int minBlocksPerSm;
    private int[] clusterShape;

    public KernelBuilder(String entryName, PtxTarget target) {
        this.entryName = identifier(entryName, "kernel");
        this.target = target;
    }

    private static String identifier(String name, String what) {
        if (!IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name '" + name
                    + "' is not a PTX identifier (a letter, then letters, digits or '_')");
        }
        return name;
    }

    @Override
    public Emitter emitter() {
        return emitter;
    }

    /** The architecture being emitted for. */
    public PtxTarget target() {
        return target;
    }

    /** A comment in the emitted body, for the reader of the PTX. */
    public void comment(String text) {
        emitter.comment(text);
    }

    /** A line for the module's header comment (what the kernel computes, its launch shape). */
    public void describe(String line) {
        description.add(line);
    }

    /** {@code .maxntid}: the block size the kernel will be launched with at most; lets ptxas budget registers. */
    public void maxThreadsPerBlock(int threads) {
        if (threads <= 0 || threads > 1024) {
            throw new IllegalArgumentException("threads per block must be 1..1024, got " + threads);
        }
        this.maxThreads = threads;
    }

    /** {@code .minnctapersm}: asks ptxas to fit this many blocks per SM (needs {@link #maxThreadsPerBlock}). */
    public void minBlocksPerSm(int blocks) {
        this.minBlocksPerSm = blocks;
    }

    /**
     * The registers ptxas gives each thread of a kernel with these launch bounds ({@link #maxThreadsPerBlock},
     * {@link #minBlocksPerSm}): the 65,536-register file over {@code threads} times {@code blocksPerSm}, at most 255,
     * rounded down to its allocation unit of 8 (168 for 384 threads and one block an SM, 128 for two blocks of 256).
     * A kernel that moves registers between warpgroups with setmaxnreg has that many a thread to share out: an
     * increase past what the block's warps gave back waits forever.
     */
    public static int entryRegisters(int threads, int blocksPerSm) {
        return Math.min(255, 65536 / (threads * blocksPerSm)) / 8 * 8;
    }

    /**
     * {@code .reqnctapercluster x, y, z} (sm_90): the kernel runs in thread block clusters of this shape, CTAs of
     * one cluster being neighbours in the grid, co-scheduled on one GPC and able to reach each other's shared memory
     * ({@link Clusters}). The cluster shape is then the kernel's own, so a plain launch runs it, with a grid that is
     * a multiple of the shape in each dimension.
     */
    public void clusterShape(int x, int y, int z) {
        if (x < 1 || y < 1 || z < 1 || x * y * z > 8) {
            throw new IllegalArgumentException("a portable cluster has 1..8 CTAs, not " + x + " x " + y + " x " + z);
        }
        this.clusterShape = new int[] {x, y, z};
    }

    /** Adds a parameter to the entry's list; returns its PTX symbol. */
    private String declareParam(String name, String type) {
        String symbol = "param_" + identifier(name, "parameter");
        if (!symbols.add(symbol)) {
            throw new IllegalArgumentException("duplicate parameter '" + name + "'");
        }
        params.add(new KernelParam(name, type));
        return symbol;
    }

    private <R extends Reg> R param(String name, String type, R register) {
        String symbol = declareParam(name, type);
        register.rename(name);
        emitter.declare(register);
        emitter.instruction("ld.param." + type, register, "[" + symbol + "]");
        return register;
    }

    /** A device pointer parameter, converted to a global address. */
    public U64 pointerParam(String name) {
        U64 generic = param(name, "u64", new U64(name));
        U64 global = emitter.declare(new U64(name + "_global"));
        emitter.instruction("cvta.to.global.u64", global, generic);
        return global;
    }

    public U32 u32Param(String name) {
        return param(name, "u32", new U32(name));
    }

    public S32 s32Param(String name) {
        return param(name, "s32", new S32(name));
    }

    public U64 u64Param(String name) {
        return param(name, "u64", new U64(name));
    }

    public F32 f32Param(String name) {
        return param(name, "f32", new F32(name));
    }

    /**
     * A TMA tensor map passed by value ({@link KernelParam#TENSOR_MAP}: CUDA C's
     * {@code const __grid_constant__ CUtensorMap}); the launcher passes the 128 bytes the host encoded. The kernel
     * reads it only through {@link TensorCopy} instructions, by its generic address.
     */
    public TensorMapParam tensorMapParam(String name) {
        String symbol = declareParam(name, KernelParam.TENSOR_MAP);
        U64 param = emitter.declare(new U64(name + "_param"));
        U64 generic = emitter.declare(new U64(name));
        emitter.instruction("mov.u64", param, symbol);
        emitter.instruction("cvta.param.u64", generic, param);
        return new TensorMapParam(name, generic);
    }

    /** A statically sized shared array ({@code .shared .align 16 .b8 name[bytes]}); returns its address. */
    public U32 sharedArray(String name, int bytes) {
        String symbol = identifier(name, "shared array");
        if (bytes <= 0) {
            throw new IllegalArgumentException("shared array '" + name + "' needs a positive size, got " + bytes);
        }
        if (!symbols.add(symbol)) {
            throw new IllegalArgumentException("duplicate shared array '" + name + "'");
        }
        sharedDeclarations.add("\t.shared .align 16 .b8 " + symbol + "[" + bytes + "];");
        U32 address = emitter.declare(new U32(name));
        emitter.instruction("mov.u32", address, symbol);
        return address;
    }

    /**
     * The dynamic shared memory window, which the launcher must size to {@code bytes} (above 48 KiB it must also
     * raise the function's max dynamic shared size attribute). Returns its address.
     */
    public U32 dynamicShared(int bytes) {
        return dynamicShared(bytes, 16);
    }

    /**
     * The dynamic shared memory window aligned to {@code alignment} bytes (a power of two, 16 to 1024): tiles that
     * TMA writes and wgmma reads with 128-byte swizzling must start on 1024 bytes, since the swizzle pattern is a
     * function of the address bits.
     */
    public U32 dynamicShared(int bytes, int alignment) {
        if (alignment < 16 || alignment > 1024 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("dynamic shared memory alignment must be a power of two in 16..1024, got "
                    + alignment);
        }
        dynamicSharedAlignment = alignment;
        if (bytes <= 0) {
            throw new IllegalArgumentException("dynamic shared memory needs a positive size, got " + bytes);
        }
        if (dynamicSharedBytes >= 0) {
            throw new IllegalStateException("dynamic shared memory is declared once per kernel");
        }
        dynamicSharedBytes = bytes;
        U32 address = emitter.declare(new U32("smem"));
        emitter.instruction("mov.u32", address, DYNAMIC_SHARED);
        return address;
    }

    /** Renders the module: header, parameters, declarations and body. */
    public KernelSource build() {
        StringBuilder ptx = new StringBuilder();
        ptx.append("//\n// ").append(entryName).append(": generated by the minference PTX DSL for ")
                .append(target.arch()).append('\n');
        for (String line : description) {
            ptx.append("// ").append(line).append('\n');
        }
        ptx.append("//\n.version ").append(target.isaVersion()).append('\n')
                .append(".target ").append(target.arch()).append('\n')
                .append(".address_size 64\n\n");
        if (dynamicSharedBytes >= 0) {
            ptx.append(".extern .shared .align ").append(dynamicSharedAlignment).append(" .b8 ").append(DYNAMIC_SHARED)
                    .append("[];\n\n");
        }
        ptx.append(".visible .entry ").append(entryName).append("(\n");
        for (int i = 0; i < params.size(); i++) {
            KernelParam p = params.get(i);
            ptx.append('\t').append(p.declaration("param_" + p.name())).append(i + 1 < params.size() ? ",\n" : "\n");
        }
        ptx.append(")\n");
        if (maxThreads > 0) {
            ptx.append(".maxntid ").append(maxThreads).append(", 1, 1\n");
            if (minBlocksPerSm > 0) {
                ptx.append(".minnctapersm ").append(minBlocksPerSm).append('\n');
            }
        }
        if (clusterShape != null) {
            ptx.append(".reqnctapercluster ").append(clusterShape[0]).append(", ").append(clusterShape[1])
                    .append(", ").append(clusterShape[2]).append('\n');
        }
        ptx.append("{\n");
        sharedDeclarations.forEach(d -> ptx.append(d).append('\n'));
        ptx.append(emitter.render());
        ptx.append("\tret;\n}\n");
        return new KernelSource(entryName, List.copyOf(params), ptx.toString(), target,
                Math.max(dynamicSharedBytes, 0));
    }
}
