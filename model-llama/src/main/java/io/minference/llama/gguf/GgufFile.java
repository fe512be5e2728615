package io.minference.llama.gguf;

import io.minference.llama.load.ModelFormatException;
import io.minference.llama.load.ModelLoadException;
import io.minference.runtime.DType;
import io.minference.runtime.Tensor;
import io.minference.runtime.quant.BlockDecoder;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * An open GGUF file: header, metadata and tensor infos parsed and validated (every tensor's bounds checked on
 * opening), tensor data left in the memory mapping: {@link #mapped} hands a tensor out in place in its stored type,
 * {@link #loadF32} converts one to a new F32 tensor. Files of any size work: the mapping is long-indexed and
 * nothing but the metadata is copied onto the heap.
 *
 * <p>Layout: magic "GGUF", uint32 version, uint64 tensor count, uint64 metadata count, the key/value pairs, the
 * tensor infos (name, uint32 n_dims, uint64 ne[n_dims], uint32 type, uint64 offset), then, from the next multiple of
 * general.alignment (default 32), the data section that the tensor offsets point into. All little-endian.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** ggml tensors have at most four dimensions. */
    private static final int MAX_DIMS = 4;
    /** Fewest bytes a tensor info takes: name length, n_dims, type and offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** Fewest bytes a key/value pair takes: key length, type and a one-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;
    /** Elements converted per parallel task. */
    private static final long ELEMENTS_PER_TASK = 1 << 16;

    private final String source;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(String source, Arena arena, MemorySegment file) {
        this.source = source;
        this.arena = arena;
        this.file = file;
        GgufCursor in = new GgufCursor(file, source);

        int magic = (int) in.u32("magic");
        if (magic != MAGIC) {
            throw in.error("not a GGUF file: wrong magic 0x" + Integer.toHexString(Integer.reverseBytes(magic))
                    + " (expected 0x" + Integer.toHexString(Integer.reverseBytes(MAGIC)) + ", \"GGUF\")");
        }
        this.version = checkVersion(in, (int) in.u32("version"));
        int tensorCount = in.count("tensor count", MIN_TENSOR_INFO_BYTES);
        int metadataCount = in.count("metadata count", MIN_KV_BYTES);

        Map<String, GgufValue> values = new LinkedHashMap<>();
        for (int i = 0; i < metadataCount; i++) {
            String key = in.string("metadata key");
            GgufType type = in.type("type of metadata key '" + key + "'");
            GgufValue value = in.value(type, "metadata key '" + key + "'");
            if (values.putIfAbsent(key, value) != null) throw in.error("duplicate metadata key '" + key + "'");
        }
        this.metadata = new GgufMetadata(source, values);
        this.alignment = readAlignment(in);

        List<GgufTensorInfo> infos = new ArrayList<>(tensorCount);
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (int i = 0; i < tensorCount; i++) {
            GgufTensorInfo info = readTensorInfo(in);
            if (byName.putIfAbsent(info.name(), info) != null) {
                throw in.error("duplicate tensor '" + info.name() + "'");
            }
            infos.add(info);
        }
        this.tensors = Collections.unmodifiableList(infos);
        this.tensorsByName = Collections.unmodifiableMap(byName);
        long end = in.position();
        this.dataOffset = end + (alignment - end % alignment) % alignment;
        if (tensorCount > 0) in.skipTo(dataOffset);
        for (GgufTensorInfo info : infos) checkBounds(info);
    }

    /** Maps and parses {@code path}; the caller closes the result. */
    public static GgufFile open(Path path) {
        String source = path.toString();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
                return new GgufFile(source, arena, mapping);
            } catch (RuntimeException | Error e) {
                arena.close();
                throw e;
            }
        } catch (IOException e) {
            throw new ModelLoadException(source, "cannot read the file: " + e, e);
        }
    }

    /** Whether {@code path} starts with the GGUF magic (a file too short to hold one does not). */
    public static boolean hasMagic(Path path) {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining()) {
                if (channel.read(head) < 0) return false;
            }
            return head.getInt(0) == MAGIC;
        } catch (IOException e) {
            throw new ModelLoadException(path.toString(), "cannot read the file: " + e, e);
        }
    }

    private static int checkVersion(GgufCursor in, int version) {
        if (version == 2 || version == 3) return version;
        int swapped = Integer.reverseBytes(version);
        if (swapped == 2 || swapped == 3) {
            throw in.error("big-endian GGUF files are not supported (version field reads " + swapped
                    + " byte-swapped)");
        }
        throw in.error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2 and 3)");
    }

    private long readAlignment(GgufCursor in) {
        Optional<GgufValue> value = metadata.get("general.alignment");
        if (value.isEmpty()) return DEFAULT_ALIGNMENT;
        if (!(value.get() instanceof GgufValue.Int i) || i.value() <= 0 || Long.bitCount(i.value()) != 1) {
            throw in.error("general.alignment must be a positive power of two, not " + value.get());
        }
        return i.value();
    }

    private GgufTensorInfo readTensorInfo(GgufCursor in) {
        String name = in.string("tensor name");
        String what = "tensor '" + name + "'";
        long dims = in.u32("dimension count of " + what);
        if (dims > MAX_DIMS) throw in.error(what + " has " + dims + " dimensions (at most " + MAX_DIMS + ")");
        long[] ne = new long[(int) dims];
        for (int d = 0; d < ne.length; d++) {
            ne[d] = in.u64("dimension " + d + " of " + what);
            if (ne[d] < 0) {
                throw in.error(what + " has an absurd dimension " + Long.toUnsignedString(ne[d]));
            }
        }
        long typeOffset = in.position();
        long typeId = in.u32("type of " + what);
        GgmlType type = GgmlType.byId((int) Math.min(typeId, Integer.MAX_VALUE));
        if (type == null) throw in.error(what + " has unknown tensor type " + typeId + " (at offset " + typeOffset + ")");
        long offset = in.u64("data offset of " + what);
        try {
            long elements = 1;
            for (long d : ne) elements = Math.multiplyExact(elements, d);
            type.byteSize(elements);
        } catch (ArithmeticException e) {
            throw in.error("dimension overflow: " + what + " has dimensions " + Arrays.toString(ne)
                    + ", whose size does not fit in 64 bits");
        }
        if (ne.length > 0 && ne[0] % type.blockSize() != 0) {
            throw in.error(what + " of type " + type + " has ne[0] = " + ne[0] + ", not a multiple of its block size "
                    + type.blockSize());
        }
        if (offset < 0 || offset % alignment != 0) {
            throw in.error(what + " has data offset " + Long.toUnsignedString(offset)
                    + ", not a multiple of the alignment " + alignment);
        }
        return new GgufTensorInfo(name, type, ne, offset);
    }

    private void checkBounds(GgufTensorInfo info) {
        long available = file.byteSize() - dataOffset;
        long size = info.byteSize();
        if (info.dataOffset() > available || size > available - info.dataOffset()) {
            throw new ModelFormatException(source, "tensor '" + info.name() + "' (" + size + " bytes at data offset "
                    + info.dataOffset() + ") extends beyond the end of the file: the data section holds "
                    + available + " bytes");
        }
    }

    public String source() {
        return source;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public Optional<GgufTensorInfo> tensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    public GgufTensorInfo requireTensor(String name) {
        GgufTensorInfo info = tensorsByName.get(name);
        if (info == null) throw new ModelFormatException(source, "missing tensor '" + name + "'");
        return info;
    }

    public long alignment() {
        return alignment;
    }

    /** File offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return file.byteSize();
    }

    /** The tensor's bytes as stored, a view of the mapping valid until {@link #close()}. */
    public MemorySegment rawData(GgufTensorInfo info) {
        return file.asSlice(dataOffset + info.dataOffset(), info.byteSize());
    }

    /**
     * The tensor in place: a view of the mapping in its stored type, of row-major shape
     * {@link GgufTensorInfo#shape()}, valid until {@link #close()}. Nothing is copied; the CPU backend computes on
     * the blocks as they lie in the file.
     */
    public Tensor mapped(GgufTensorInfo info) {
        return Tensor.wrap(runtimeType(info), rawData(info), info.shape());
    }

    /** Converts a tensor to a new F32 tensor of row-major shape {@link GgufTensorInfo#shape()}, in parallel. */
    public Tensor loadF32(GgufTensorInfo info) {
        BlockDecoder decoder = BlockDecoder.forType(runtimeType(info));
        if (decoder == null) throw unsupported(info);
        MemorySegment src = rawData(info);
        Tensor tensor = Tensor.allocateUninitialized(DType.F32, info.shape());
        MemorySegment dst = tensor.data();
        int blockSize = info.type().blockSize();
        long blockBytes = info.type().blockBytes();
        long blocks = info.elementCount() / blockSize;
        long blocksPerTask = Math.max(1, ELEMENTS_PER_TASK / blockSize);
        long tasks = (blocks + blocksPerTask - 1) / blocksPerTask;
        LongStream.range(0, tasks).parallel().forEach(task -> {
            long first = task * blocksPerTask;
            long count = Math.min(blocksPerTask, blocks - first);
            decoder.decode(src, first * blockBytes, dst, first * blockSize, count);
        });
        return tensor;
    }

    private DType runtimeType(GgufTensorInfo info) {
        DType type = info.type().dtype();
        if (type == null) throw unsupported(info);
        return type;
    }

    private ModelFormatException unsupported(GgufTensorInfo info) {
        String supported = Arrays.stream(GgmlType.values())
                .filter(t -> t.dtype() != null && BlockDecoder.forType(t.dtype()) != null)
                .map(Enum::name).collect(Collectors.joining(", "));
        return new ModelFormatException(source, "tensor '" + info.name() + "' has type " + info.type()
                + ", which cannot be computed on here (supported: " + supported + ")");
    }

    @Override
    public void close() {
        arena.close();
    }
}
