package io.minference.llama.gguf;

import io.minference.llama.load.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads GGUF's little-endian header structures from a mapped file, checking every length against the bytes left so
 * that a corrupt count fails with a message instead of a huge allocation.
 */
final class GgufCursor {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Java arrays and strings hold at most about this many elements. */
    private static final long MAX_JAVA_LENGTH = Integer.MAX_VALUE - 8;

    private final MemorySegment file;
    private final String source;
    private long position;

    GgufCursor(MemorySegment file, String source) {
        this.file = file;
        this.source = source;
    }

    long position() {
        return position;
    }

    long remaining() {
        return file.byteSize() - position;
    }

    ModelFormatException error(String problem) {
        return new ModelFormatException(source, problem);
    }

    private long take(long bytes, String what) {
        if (bytes > remaining()) {
            throw error("truncated file: " + what + " at offset " + position + " needs " + bytes
                    + " bytes, but the file ends at " + file.byteSize());
        }
        long at = position;
        position += bytes;
        return at;
    }

    int u8(String what) {
        return file.get(ValueLayout.JAVA_BYTE, take(1, what)) & 0xFF;
    }

    int u16(String what) {
        return file.get(U16, take(2, what)) & 0xFFFF;
    }

    /** An unsigned 32-bit value. */
    long u32(String what) {
        return file.get(U32, take(4, what)) & 0xFFFF_FFFFL;
    }

    long u64(String what) {
        return file.get(U64, take(8, what));
    }

    float f32(String what) {
        return file.get(F32, take(4, what));
    }

    double f64(String what) {
        return file.get(F64, take(8, what));
    }

    /**
     * A count of items that each take at least {@code minItemBytes} in the rest of the file: a count that could not
     * fit is corrupt, whatever it claims.
     */
    int count(String what, long minItemBytes) {
        long at = position;
        long n = u64(what);
        long fits = remaining() / minItemBytes;
        if (n < 0 || n > fits) {
            throw error("absurd " + what + " " + Long.toUnsignedString(n) + " at offset " + at + ": the "
                    + remaining() + " bytes left in the file hold at most " + fits + " (truncated or corrupt file)");
        }
        if (n > MAX_JAVA_LENGTH) throw error(what + " " + n + " at offset " + at + " is too large to load");
        return (int) n;
    }

    String string(String what) {
        int length = count(what + " length", 1);
        long at = take(length, what);
        byte[] bytes = file.asSlice(at, length).toArray(ValueLayout.JAVA_BYTE);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    GgufValue value(GgufType type, String what) {
        return switch (type) {
            case UINT8 -> new GgufValue.Int(type, u8(what));
            case INT8 -> new GgufValue.Int(type, (byte) u8(what));
            case UINT16 -> new GgufValue.Int(type, u16(what));
            case INT16 -> new GgufValue.Int(type, (short) u16(what));
            case UINT32 -> new GgufValue.Int(type, u32(what));
            case INT32 -> new GgufValue.Int(type, (int) u32(what));
            case UINT64, INT64 -> new GgufValue.Int(type, u64(what));
            case FLOAT32 -> new GgufValue.Real(type, f32(what));
            case FLOAT64 -> new GgufValue.Real(type, f64(what));
            case BOOL -> new GgufValue.Bool(bool(what));
            case STRING -> new GgufValue.Text(string(what));
            case ARRAY -> array(what);
        };
    }

    GgufType type(String what) {
        long at = position;
        long id = u32(what);
        GgufType type = GgufType.byId((int) Math.min(id, Integer.MAX_VALUE));
        if (type == null) throw error("unknown metadata value type " + id + " for " + what + " at offset " + at);
        return type;
    }

    private boolean bool(String what) {
        long at = position;
        int b = u8(what);
        if (b > 1) throw error("invalid bool " + b + " for " + what + " at offset " + at);
        return b == 1;
    }

    private GgufValue.Array array(String what) {
        GgufType elementType = type(what + " element type");
        int n = count(what + " array length", elementType.minBytes());
        String element = what + " element";
        Object elements = switch (elementType) {
            case UINT8, INT8 -> {
                byte[] a = new byte[n];
                for (int i = 0; i < n; i++) a[i] = (byte) u8(element);
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[n];
                for (int i = 0; i < n; i++) a[i] = (short) u16(element);
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = (int) u32(element);
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = u64(element);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = f32(element);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = f64(element);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = bool(element);
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = string(element);
                yield a;
            }
            case ARRAY -> {
                GgufValue.Array[] a = new GgufValue.Array[n];
                for (int i = 0; i < n; i++) a[i] = array(element);
                yield a;
            }
        };
        return new GgufValue.Array(elementType, elements);
    }

    void skipTo(long offset) {
        if (offset > file.byteSize()) {
            throw error("truncated file: the data section starts at offset " + offset + ", but the file ends at "
                    + file.byteSize());
        }
        position = offset;
    }
}
