package io.minference.llama.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF file (version 3, little-endian) in the layout {@link GgufFile} reads: header, metadata, tensor
 * infos, then the data section from the next multiple of the alignment, each tensor at an aligned offset. Tensors
 * are declared with their type and dimensions first, so that every offset is known before any data is written; the
 * data is then produced straight into a memory mapping of the output, one tensor at a time, so that a model larger
 * than the heap can be written. The file appears under its name only once complete (written beside it, then moved).
 *
 * <pre>{@code
 * GgufFileWriter out = new GgufFileWriter();
 * out.putAll(source.metadata().asMap());
 * out.tensor("token_embd.weight", GgmlType.Q8_0, new long[] {384, 4096}, data -> ...fill data...);
 * out.write(path);
 * }</pre>
 */
public final class GgufFileWriter {
    /** Fills a tensor's data, a slice of the output of exactly the tensor's byte size. */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(MemorySegment data);
    }

    private record Tensor(String name, GgmlType type, long[] ne, TensorData data, long offset) {
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private long dataBytes;

    /** Adds or replaces a metadata value; keys keep the order of their first addition. */
    public GgufFileWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    public GgufFileWriter putAll(Map<String, GgufValue> values) {
        values.forEach(this::put);
        return this;
    }

    public GgufFileWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /**
     * Declares a tensor of {@code type} with ggml dimensions {@code ne} (ne[0] varies fastest and must be a multiple
     * of the type's block size); {@code data} fills its bytes when the file is written.
     */
    public GgufFileWriter tensor(String name, GgmlType type, long[] ne, TensorData data) {
        if (tensors.stream().anyMatch(t -> t.name().equals(name))) {
            throw new IllegalArgumentException("duplicate tensor '" + name + "'");
        }
        long elements = 1;
        for (long d : ne) elements = Math.multiplyExact(elements, d);
        if (ne.length == 0 || ne[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " needs ne[0] a multiple of "
                    + type.blockSize());
        }
        long offset = align(dataBytes);
        tensors.add(new Tensor(name, type, ne.clone(), data, offset));
        dataBytes = offset + type.byteSize(elements);
        return this;
    }

    /** Writes the file; an existing file at {@code path} is replaced only once the new one is complete. */
    public void write(Path path) throws IOException {
        byte[] header = header();
        long dataOffset = align(header.length);
        Path partial = path.resolveSibling(path.getFileName() + ".partial");
        try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING); Arena arena = Arena.ofShared()) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_WRITE, 0, dataOffset + dataBytes, arena);
            MemorySegment.copy(MemorySegment.ofArray(header), 0, file, 0, header.length);
            for (Tensor t : tensors) {
                long size = t.type().byteSize(elements(t.ne()));
                t.data().writeTo(file.asSlice(dataOffset + t.offset(), size));
            }
            file.force();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        Files.move(partial, path, StandardCopyOption.REPLACE_EXISTING);
    }

    private static long elements(long[] ne) {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }

    private long align(long offset) {
        long alignment = alignment();
        return (offset + alignment - 1) / alignment * alignment;
    }

    private long alignment() {
        return metadata.get("general.alignment") instanceof GgufValue.Int i ? i.value() : GgufFile.DEFAULT_ALIGNMENT;
    }

    private byte[] header() {
        Out out = new Out();
        out.u32(GgufFile.MAGIC);
        out.u32(3);
        out.u64(tensors.size());
        out.u64(metadata.size());
        metadata.forEach((key, value) -> {
            out.string(key);
            out.u32(value.type().id());
            out.value(value);
        });
        for (Tensor t : tensors) {
            out.string(t.name());
            out.u32(t.ne().length);
            for (long d : t.ne()) out.u64(d);
            out.u32(t.type().id());
            out.u64(t.offset());
        }
        return out.toByteArray();
    }

    /** Little-endian encoding of header fields and metadata values into a buffer that grows as needed. */
    private static final class Out {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        /** The buffer, with room for {@code n} more bytes. */
        private ByteBuffer room(int n) {
            if (buffer.remaining() < n) {
                ByteBuffer larger = ByteBuffer.allocate(Math.max(2 * buffer.capacity(), buffer.position() + n))
                        .order(ByteOrder.LITTLE_ENDIAN);
                buffer = larger.put(buffer.flip());
            }
            return buffer;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buffer.array(), buffer.position());
        }

        void u32(long v) {
            room(4).putInt((int) v);
        }

        void u64(long v) {
            room(8).putLong(v);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            room(utf8.length).put(utf8);
        }

        /** An integer (or bool) of {@code type}'s width, truncated to it. */
        void integer(GgufType type, long v) {
            switch (type) {
                case UINT8, INT8, BOOL -> room(1).put((byte) v);
                case UINT16, INT16 -> room(2).putShort((short) v);
                case UINT32, INT32 -> u32(v);
                default -> u64(v);
            }
        }

        void value(GgufValue value) {
            switch (value) {
                case GgufValue.Int i -> integer(i.type(), i.value());
                case GgufValue.Real r -> real(r.type(), r.value());
                case GgufValue.Bool b -> integer(GgufType.BOOL, b.value() ? 1 : 0);
                case GgufValue.Text t -> string(t.value());
                case GgufValue.Array a -> {
                    u32(a.elementType().id());
                    u64(a.length());
                    for (int k = 0; k < a.length(); k++) element(a, k);
                }
            }
        }

        private void real(GgufType type, double v) {
            if (type == GgufType.FLOAT32) room(4).putFloat((float) v);
            else room(8).putDouble(v);
        }

        private void element(GgufValue.Array a, int k) {
            switch (a.elementType()) {
                case FLOAT32, FLOAT64 -> real(a.elementType(), a.doubleAt(k));
                case BOOL -> integer(GgufType.BOOL, a.booleanAt(k) ? 1 : 0);
                case STRING -> string(a.stringAt(k));
                case ARRAY -> value(a.arrayAt(k));
                default -> integer(a.elementType(), a.longAt(k));
            }
        }
    }
}
