package io.minference.llama.gguf;

import java.util.Arrays;
import java.util.List;

/** One GGUF metadata value. Integers of every width are held as long, floats of both widths as double. */
public sealed interface GgufValue {

    GgufType type();

    /** Any of the eight integer types; unsigned values are zero-extended (a UINT64 above 2^63 reads negative). */
    record Int(GgufType type, long value) implements GgufValue {
    }

    /** FLOAT32 or FLOAT64; a FLOAT32 is held exactly. */
    record Real(GgufType type, double value) implements GgufValue {
    }

    record Bool(boolean value) implements GgufValue {
        @Override
        public GgufType type() {
            return GgufType.BOOL;
        }
    }

    record Text(String value) implements GgufValue {
        @Override
        public GgufType type() {
            return GgufType.STRING;
        }
    }

    /**
     * An array of one element type. Elements are stored in a primitive array of their own width (byte[] for UINT8,
     * int[] for INT32, ...) so that a large array costs about as much heap as it takes in the file.
     */
    final class Array implements GgufValue {
        private final GgufType elementType;
        private final Object elements;
        private final int length;

        Array(GgufType elementType, Object elements) {
            this.elementType = elementType;
            this.elements = elements;
            this.length = java.lang.reflect.Array.getLength(elements);
        }

        @Override
        public GgufType type() {
            return GgufType.ARRAY;
        }

        public GgufType elementType() {
            return elementType;
        }

        public int length() {
            return length;
        }

        /** Element {@code i} of an integer array, zero-extended for unsigned types. */
        public long longAt(int i) {
            return switch (elementType) {
                case UINT8 -> ((byte[]) elements)[i] & 0xFFL;
                case INT8 -> ((byte[]) elements)[i];
                case UINT16 -> ((short[]) elements)[i] & 0xFFFFL;
                case INT16 -> ((short[]) elements)[i];
                case UINT32 -> ((int[]) elements)[i] & 0xFFFF_FFFFL;
                case INT32 -> ((int[]) elements)[i];
                case UINT64, INT64 -> ((long[]) elements)[i];
                default -> throw new IllegalStateException("not an integer array: " + elementType);
            };
        }

        public double doubleAt(int i) {
            return switch (elementType) {
                case FLOAT32 -> ((float[]) elements)[i];
                case FLOAT64 -> ((double[]) elements)[i];
                default -> throw new IllegalStateException("not a float array: " + elementType);
            };
        }

        public boolean booleanAt(int i) {
            if (elementType != GgufType.BOOL) throw new IllegalStateException("not a bool array: " + elementType);
            return ((boolean[]) elements)[i];
        }

        public String stringAt(int i) {
            if (elementType != GgufType.STRING) throw new IllegalStateException("not a string array: " + elementType);
            return ((String[]) elements)[i];
        }

        public Array arrayAt(int i) {
            if (elementType != GgufType.ARRAY) throw new IllegalStateException("not an array of arrays: " + elementType);
            return ((Array[]) elements)[i];
        }

        public List<String> strings() {
            if (elementType != GgufType.STRING) throw new IllegalStateException("not a string array: " + elementType);
            return List.of((String[]) elements);
        }

        @Override
        public String toString() {
            String head = switch (elements) {
                case byte[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case short[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case int[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case long[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case float[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case double[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case boolean[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                case Object[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 8)));
                default -> "?";
            };
            return "Array[" + elementType + " x " + length + ": " + head + (length > 8 ? "..." : "") + "]";
        }
    }
}
