package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.kernels.kvcache.CodedKvLayer;
import io.minference.kernels.kvcache.KvCodes;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Dense causal attention of one layer shape on one CUDA context: picks the tensor-core prefill for head dims 64
 * and 128 (on sm_90 the Hopper kernel, elsewhere or when {@link PrefillKernel} says so the mma.sync one) and the
 * fallback otherwise, and runs split-K decode with a workspace it owns (grown on demand, freed on
 * close). Tensors follow the layout of {@link io.minference.kernels.flash}; all launches are queued on the given
 * stream. Not thread-safe: one instance per stream.
 */
public final class FlashAttention implements AutoCloseable {
    /** Keys a decode split takes at least, so that short caches are not cut into slivers. */
    private static final int MIN_KEYS_PER_SPLIT = 256;

    private final CudaContext context;
    private final AttentionShape shape;
    private final float scale;
    private final FlashPrefill prefill;
    private final Kernel prefillKernel;
    /** The Hopper prefill, when it serves this shape on this device instead of {@link #prefill}. */
    private final HopperFlashPrefill hopperPrefill;
    private final Kernel fallbackKernel;
    private final FlashDecode decode;
    private final Kernel decodeKernel;
    private final Kernel decodeAtDeviceLengthKernel;
    /** Whether decode runs {@link GroupedFlashDecode} (one block column per KV head) or {@link FlashDecode}. */
    private final boolean groupedDecode;
    private final Kernel combineKernel;
    private final FlashDecodeCombine combine;
    private final DecodeTuning tuning;
    /** The FP8-cache decode, made on first use. */
    private final Map<KvCodes, Kernel> codedDecodeKernels = new EnumMap<>(KvCodes.class);
    private DeviceBuffer workspace;
    private PhaseMarks decodeMarks = PhaseMarks.NONE;

    /** Attention with the prefill family the system property {@value PrefillKernel#PROPERTY} chooses. */
    public FlashAttention(CudaContext context, AttentionShape shape) {
        this(context, shape, PrefillKernel.configured());
    }

    /** Attention with the prefill family {@code family} chooses for this device. */
    public FlashAttention(CudaContext context, AttentionShape shape, PrefillKernel family) {
        this(context, shape, family, DecodeTuning.configured());
    }

    /** Attention with the prefill family {@code family} chooses for this device and the decode tuned by {@code tuning}. */
    public FlashAttention(CudaContext context, AttentionShape shape, PrefillKernel family, DecodeTuning tuning) {
        this.context = context;
        this.shape = shape;
        this.tuning = tuning;
        this.scale = log2Scale(shape.headDim());
        var target = context.device().ptxTarget();
        Specializations kernels = Specializations.of(shape, target, family, tuning);
        LaunchShape placeholder = LaunchShape.of(1, 32);
        prefill = kernels.prefill() instanceof FlashPrefill mmaSync ? mmaSync : null;
        hopperPrefill = kernels.prefill() instanceof HopperFlashPrefill hopper ? hopper : null;
        Kernel prefillOrFallback = context.kernel(kernels.prefill().emit(target), placeholder);
        prefillKernel = prefill != null || hopperPrefill != null ? prefillOrFallback : null;
        fallbackKernel = prefillKernel == null ? prefillOrFallback : null;
        decode = new FlashDecode(shape.headDim());
        groupedDecode = kernels.decode() instanceof GroupedFlashDecode;
        decodeKernel = context.kernel(kernels.decode().emit(target), placeholder);
        decodeAtDeviceLengthKernel = context.kernel(kernels.decodeAtDeviceLength().emit(target), placeholder);
        combine = kernels.combine();
        combineKernel = context.kernel(combine.emit(target), placeholder);
    }

    /**
     * The kernels an instance launches for one shape on one target: the single place where they are chosen, read
     * by the constructor and by the kernel catalog.
     *
     * @param prefill              {@link HopperFlashPrefill}, {@link FlashPrefill} or {@link FlashFallback}
     * @param decode               {@link GroupedFlashDecode} or {@link FlashDecode}
     * @param decodeAtDeviceLength the same, reading the cache length from device memory
     * @param combine              {@link FlashDecodeCombine}
     */
    public record Specializations(KernelDefinition prefill, KernelDefinition decode,
                                  KernelDefinition decodeAtDeviceLength, FlashDecodeCombine combine) {
        /** The choice for {@code shape} on {@code target} with the prefill family {@code family}. */
        public static Specializations of(AttentionShape shape, PtxTarget target, PrefillKernel family) {
            return of(shape, target, family, DecodeTuning.configured());
        }

        /** The choice for {@code shape} on {@code target} with the prefill family and decode tuning given. */
        public static Specializations of(AttentionShape shape, PtxTarget target, PrefillKernel family,
                                         DecodeTuning tuning) {
            int d = shape.headDim();
            boolean tensorCores = d == 64 || d == 128;
            KernelDefinition prefill = tensorCores && family.usesHopper(target) ? HopperFlashPrefill.configured(d)
                    : tensorCores ? FlashPrefill.forHeadDim(d) : new FlashFallback(d);
            boolean grouped = GroupedFlashDecode.supports(d, shape.groupSize());
            return new Specializations(prefill,
                    grouped ? groupedDecode(shape, false, null, tuning) : new FlashDecode(d),
                    grouped ? groupedDecode(shape, true, null, tuning) : new FlashDecode(d, true),
                    new FlashDecodeCombine(d, Math.min(tuning.combineWarps(), FlashDecodeCombine.mostWarps(d))));
        }

        /** The grouped decode of {@code shape} with {@code tuning}'s loop (cacheCodes null for a bf16 cache). */
        static GroupedFlashDecode groupedDecode(AttentionShape shape, boolean lengthOnDevice, KvCodes cacheCodes,
                                                DecodeTuning tuning) {
            return new GroupedFlashDecode(shape.headDim(), shape.groupSize(), lengthOnDevice, cacheCodes,
                    GroupedFlashDecode.Loop.of(tuning));
        }

        public List<KernelDefinition> all() {
            return List.of(prefill, decode, decodeAtDeviceLength, combine);
        }
    }

    /** The scale the kernels take: {@code log2(e) / sqrt(headDim)}. */
    public static float log2Scale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim) / Math.log(2.0));
    }

    /** True where a tensor-core kernel (mma.sync or Hopper) serves this shape's prefill. */
    public boolean usesTensorCores() {
        return prefill != null || hopperPrefill != null;
    }

    /** True where the Hopper kernel (wgmma, TMA) serves this shape's prefill. */
    public boolean usesHopper() {
        return hopperPrefill != null;
    }

    /** The entry name of the kernel that runs this shape's prefill. */
    public String prefillKernelName() {
        return (prefillKernel != null ? prefillKernel : fallbackKernel).source().entryName();
    }

    /**
     * Queues causal attention of {@code count} queries at positions {@code [start, start + count)}: q and out
     * {@code [count, numHeads, d]}, k and v caches holding at least {@code start + count} rows.
     */
    public void prefill(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                        int count, int start) {
        if (count < 1 || start < 0 || (long) start + count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("prefill needs count >= 1 and start >= 0, got count " + count
                    + ", start " + start);
        }
        launchPrefill(stream, q, k, v, out, count, start, shape.numHeads());
    }

    /**
     * As {@link #prefill}, for query heads {@code [firstHead, firstHead + heads)} only (the others' outputs are left
     * alone), for a sparse prefill whose too-dense heads fall back to dense. The kernels compute a head's KV head
     * from its index within the launch, so the heads go in pieces that start on a KV group's first head or stay
     * inside one group, each launched with its pointers moved to its first head.
     */
    public void prefillHeads(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                             int count, int start, int firstHead, int heads) {
        if (firstHead < 0 || heads < 1 || firstHead + heads > shape.numHeads()) {
            throw new IllegalArgumentException("heads [" + firstHead + ", " + (firstHead + heads)
                    + ") are not within the layer's " + shape.numHeads() + " heads");
        }
        int group = shape.groupSize();
        long rowBytes = 2L * shape.headDim();
        for (int head = firstHead; head < firstHead + heads; ) {
            int piece = head % group == 0 ? firstHead + heads - head
                    : Math.min(group - head % group, firstHead + heads - head);
            long queryOffset = head * rowBytes;
            long kvOffset = (long) (head / group) * rowBytes;
            launchPrefill(stream, shifted(q, queryOffset), shifted(k, kvOffset), shifted(v, kvOffset),
                    shifted(out, queryOffset), count, start, piece);
            head += piece;
        }
    }

    private static DevicePointer shifted(DevicePointer pointer, long bytes) {
        return bytes == 0 ? pointer : () -> pointer.address() + bytes;
    }

    /**
     * Launches the prefill over the first {@code gridHeads} heads from the given pointers (row strides stay the
     * layer's).
     */
    private void launchPrefill(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                               int count, int start, int gridHeads) {
        int heads = shape.numHeads();
        if (hopperPrefill != null) {
            hopperPrefill.launch(prefillKernel, stream, q, k, v, out, count, start, shape, gridHeads);
        } else if (prefill != null) {
            prefillKernel.withShape(new LaunchShape(gridHeads, prefill.queryBlocks(count), 1, prefill.threads(), 1,
                    1)).launch(stream, q, k, v, out, count, start, heads, shape.numKvHeads(), scale);
        } else {
            fallbackKernel.withShape(new LaunchShape(FlashFallback.blocksFor(count), gridHeads, 1,
                    FlashFallback.THREADS, 1, 1)).launch(stream, q, k, v, out, count, start, heads,
                    shape.numKvHeads(), scale);
        }
    }

    /**
     * Queues decode attention of one query per head ({@code q}, {@code out}: {@code [numHeads, d]}) at position
     * {@code length - 1} against cache rows {@code [0, length)}, the keys split across blocks by
     * {@link #splitBlocks} for this device's SM count, then the partials combined.
     */
    public void decode(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       int length) {
        if (length < 1) {
            throw new IllegalArgumentException("decode needs a cache of at least one row, got " + length);
        }
        int heads = shape.numHeads();
        int splitBlocks = splitBlocks(length, decodeGridColumns(), context.device().multiprocessorCount(),
                tuning.blocksPerSm());
        int splits = splitBlocks * FlashDecode.SPLITS_PER_BLOCK;
        int keysPerSplit = (length + splits - 1) / splits;
        reserveWorkspace(decode.workspaceBytes(heads, splits));
        decodeKernel.withShape(new LaunchShape(decodeGridColumns(), splitBlocks, 1, FlashDecode.THREADS, 1, 1))
                .launch(stream, q, k, v, workspace, length, heads, shape.numKvHeads(), scale, keysPerSplit);
        combine(stream, out, heads, splits);
    }

    /**
     * Allocates now the workspace that {@link #decode(CudaStream, DevicePointer, DevicePointer, DevicePointer,
     * DevicePointer, DevicePointer, int)} needs for caches of {@code capacity} rows, so that no allocation happens
     * while that decode is being captured into a CUDA graph.
     */
    public void reserveDecode(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("decode needs a capacity of at least one row, got " + capacity);
        reserveWorkspace(decode.workspaceBytes(shape.numHeads(), splitsFor(capacity)));
    }

    /**
     * Queues decode attention like {@link #decode(CudaStream, DevicePointer, DevicePointer, DevicePointer,
     * DevicePointer, int)}, with the cache length read when the kernel runs from the u32 at {@code lengthAt} (at
     * most {@code capacity}): the launch's arguments do not depend on the length, so a CUDA graph that captures it
     * serves every step. The split count is fixed by {@code capacity} and each split takes
     * {@code ceil(length / splits)} keys; {@link #reserveDecode} must have been called for the capacity.
     */
    public void decode(CudaStream stream, DevicePointer q, DevicePointer k, DevicePointer v, DevicePointer out,
                       DevicePointer lengthAt, int capacity) {
        int heads = shape.numHeads();
        int splits = splitsFor(capacity);
        long bytes = decode.workspaceBytes(heads, splits);
        if (workspace == null || workspace.byteSize() < bytes) {
            throw new IllegalStateException("decode with a device length needs reserveDecode(" + capacity
                    + ") first: no allocation may happen while a CUDA graph is captured");
        }
        decodeAtDeviceLengthKernel.withShape(new LaunchShape(decodeGridColumns(),
                splits / FlashDecode.SPLITS_PER_BLOCK, 1, FlashDecode.THREADS, 1, 1)).launch(stream, q, k, v, workspace, lengthAt, heads, shape.numKvHeads(),
                scale);
        combine(stream, out, heads, splits);
    }

    /** True where decode can read an 8-bit cache (either code format): the shapes {@link GroupedFlashDecode} serves. */
    public static boolean supportsCodedCache(AttentionShape shape) {
        return GroupedFlashDecode.supports(shape.headDim(), shape.groupSize());
    }

    /**
     * Queues decode attention like {@link #decode(CudaStream, DevicePointer, DevicePointer, DevicePointer,
     * DevicePointer, DevicePointer, int)} over one layer's 8-bit cache ({@link io.minference.kernels.kvcache}): the
     * full blocks from their codes and scales, the partial block from the bf16 tail; the kernel is the one for the
     * cache's code format.
     */
    public void decode(CudaStream stream, DevicePointer q, CodedKvLayer cache, DevicePointer out,
                       DevicePointer lengthAt) {
        if (!groupedDecode) {
            throw new IllegalStateException("an 8-bit KV cache needs the grouped decode kernel (head dim 64 or 128,"
                    + " 1 to 8 query heads per KV head); this model has head dim " + shape.headDim() + " and "
                    + shape.groupSize() + " query heads per KV head");
        }
        int capacity = cache.capacity();
        int heads = shape.numHeads();
        int splits = splitsFor(capacity);
        if (workspace == null || workspace.byteSize() < decode.workspaceBytes(heads, splits)) {
            throw new IllegalStateException("decode with a device length needs reserveDecode(" + capacity
                    + ") first: no allocation may happen while a CUDA graph is captured");
        }
        Kernel codedDecodeKernel = codedDecodeKernels.computeIfAbsent(cache.codes(), codes -> context.kernel(
                Specializations.groupedDecode(shape, true, codes, tuning).emit(context.device().ptxTarget()),
                LaunchShape.of(1, 32)));
        codedDecodeKernel.withShape(new LaunchShape(decodeGridColumns(), splits / FlashDecode.SPLITS_PER_BLOCK, 1,
                FlashDecode.THREADS, 1, 1)).launch(stream, q, cache.keyCodes(), cache.valueCodes(), workspace,
                lengthAt, heads, shape.numKvHeads(), scale, cache.keyScales(), cache.valueScales(), cache.keyTail(),
                cache.valueTail());
        combine(stream, out, heads, splits);
    }

    /**
     * Marks {@link PhaseMarks.Phase#COMBINE} on the stream before every decode's combine from now on, so that a
     * decode breakdown can tell the split-K attention from its merge; {@link PhaseMarks#NONE} stops it.
     */
    public void markDecode(PhaseMarks marks) {
        this.decodeMarks = marks;
    }

    private void combine(CudaStream stream, DevicePointer out, int heads, int splits) {
        decodeMarks.mark(stream, PhaseMarks.Phase.COMBINE);
        combineKernel.withShape(LaunchShape.of(heads, combine.threads())).launch(stream, workspace, out, heads, splits);
    }

    /** Splits of a device-length decode over caches of up to {@code capacity} rows. */
    int splitsFor(int capacity) {
        return splitBlocks(capacity, decodeGridColumns(), context.device().multiprocessorCount(),
                tuning.blocksPerSm()) * FlashDecode.SPLITS_PER_BLOCK;
    }

    /** The decode grid's x: one column of split blocks per KV head (grouped) or per query head. */
    private int decodeGridColumns() {
        return groupedDecode ? shape.numKvHeads() : shape.numHeads();
    }

    private void reserveWorkspace(long bytes) {
        if (workspace == null || workspace.byteSize() < bytes) {
            if (workspace != null) workspace.close();
            workspace = context.allocate(bytes);
        }
    }

    /**
     * Blocks of splits per head at the default occupancy target ({@link DecodeTuning#DEFAULT}).
     */
    static int splitBlocks(int length, int heads, int multiprocessors) {
        return splitBlocks(length, heads, multiprocessors, DecodeTuning.DEFAULT.blocksPerSm());
    }

    /**
     * Blocks of splits per head: {@code blocksPerSm} blocks per SM over all heads' columns, but no split shorter
     * than {@link #MIN_KEYS_PER_SPLIT} keys.
     */
    static int splitBlocks(int length, int heads, int multiprocessors, int blocksPerSm) {
        int bySize = Math.max(1, length / (MIN_KEYS_PER_SPLIT * FlashDecode.SPLITS_PER_BLOCK));
        int byOccupancy = Math.max(1, blocksPerSm * multiprocessors / heads);
        return Math.min(Math.min(bySize, byOccupancy), 65535);
    }

    @Override
    public void close() {
        if (workspace != null) {
            workspace.close();
            workspace = null;
        }
    }
}
