package io.minference.llama.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes GGUF files for tests, written from the format description independently of the reader. Besides valid
 * files it can write tensor infos with any type number, dimensions and offset, so that tests can build bad files.
 */
final class GgufWriter {
    /** An array value: its element type and elements (Long, Double, Boolean, String or ArrayValue). */
    record ArrayValue(GgufType elementType, List<?> elements) {
    }

    private record Entry(String key, GgufType type, Object value) {
    }

    private record TensorEntry(String name, int typeId, long[] ne, byte[] data, long explicitOffset) {
    }

    private int magic = 0x46554747;
    private int version = 3;
    private int alignment = 32;
    private final List<Entry> metadata = new ArrayList<>();
    private final List<TensorEntry> tensors = new ArrayList<>();

    GgufWriter magic(int value) {
        magic = value;
        return this;
    }

    GgufWriter version(int value) {
        version = value;
        return this;
    }

    /** Writes general.alignment and pads the data section to it. */
    GgufWriter alignment(int value) {
        alignment = value;
        return put("general.alignment", GgufType.UINT32, (long) value);
    }

    /** @param value Long for integer types, Double for floats, Boolean, String, or ArrayValue */
    GgufWriter put(String key, GgufType type, Object value) {
        metadata.add(new Entry(key, type, value));
        return this;
    }

    GgufWriter putString(String key, String value) {
        return put(key, GgufType.STRING, value);
    }

    GgufWriter putUint32(String key, long value) {
        return put(key, GgufType.UINT32, value);
    }

    GgufWriter putFloat32(String key, double value) {
        return put(key, GgufType.FLOAT32, value);
    }

    /** A tensor whose data follows, placed at the next aligned offset of the data section. */
    GgufWriter tensor(String name, GgmlType type, long[] ne, byte[] data) {
        tensors.add(new TensorEntry(name, type.id(), ne, data, -1));
        return this;
    }

    /** A tensor info only, with any type number and offset; no data is written for it. */
    GgufWriter tensorInfo(String name, int typeId, long[] ne, long offset) {
        tensors.add(new TensorEntry(name, typeId, ne, new byte[0], offset));
        return this;
    }

    byte[] toBytes() {
        Out out = new Out();
        out.u32(magic);
        out.u32(version);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Entry e : metadata) {
            out.string(e.key());
            out.u32(e.type().id());
            out.value(e.type(), e.value());
        }
        long[] offsets = new long[tensors.size()];
        long next = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            if (t.explicitOffset() >= 0) {
                offsets[i] = t.explicitOffset();
            } else {
                offsets[i] = next;
                next = align(next + t.data().length);
            }
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            out.string(t.name());
            out.u32(t.ne().length);
            for (long d : t.ne()) out.u64(d);
            out.u32(t.typeId());
            out.u64(offsets[i]);
        }
        out.pad(alignment);
        long dataStart = out.size();
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            if (t.explicitOffset() >= 0) continue;
            while (out.size() < dataStart + offsets[i]) out.bytes.write(0);
            out.bytes.writeBytes(t.data());
        }
        return out.bytes.toByteArray();
    }

    Path write(Path file) throws IOException {
        Files.write(file, toBytes());
        return file;
    }

    private long align(long offset) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    private static final class Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        long size() {
            return bytes.size();
        }

        void pad(int alignment) {
            while (bytes.size() % alignment != 0) bytes.write(0);
        }

        void le(long value, int width) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
            bytes.write(b.array(), 0, width);
        }

        void u32(long v) {
            le(v, 4);
        }

        void u64(long v) {
            le(v, 8);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            bytes.writeBytes(utf8);
        }

        void value(GgufType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> le((Long) v, 1);
                case UINT16, INT16 -> le((Long) v, 2);
                case UINT32, INT32 -> le((Long) v, 4);
                case UINT64, INT64 -> le((Long) v, 8);
                case FLOAT32 -> le(Float.floatToRawIntBits(((Double) v).floatValue()), 4);
                case FLOAT64 -> le(Double.doubleToRawLongBits((Double) v), 8);
                case BOOL -> le((Boolean) v ? 1 : 0, 1);
                case STRING -> string((String) v);
                case ARRAY -> {
                    ArrayValue a = (ArrayValue) v;
                    u32(a.elementType().id());
                    u64(a.elements().size());
                    for (Object element : a.elements()) value(a.elementType(), element);
                }
            }
        }
    }
}
