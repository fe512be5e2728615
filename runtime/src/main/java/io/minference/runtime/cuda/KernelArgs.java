package io.minference.runtime.cuda;

import io.minference.ptx.KernelParam;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A kernel's arguments packed as {@code cuLaunchKernel} reads them: an array of pointers, one per parameter, each to
 * the parameter's value in its PTX type. The driver copies the values at launch, so one packing can serve many
 * launches. Values by PTX type: u64/s64/b64 take a {@link DevicePointer} or a Long; 32-bit integers an Integer;
 * f32 a Float; f64 a Double; 16-bit types a Short (f16/bf16 as raw bits); 8-bit types a Byte; a tensor map
 * parameter a {@link TensorMap}, whose 128 bytes are copied into a 64-byte-aligned slot.
 */
public final class KernelArgs implements AutoCloseable {
    private static final int SLOT_BYTES = 8;

    private final Arena arena;
    private final MemorySegment pointers;
    private final MemorySegment[] slots;

    private KernelArgs(Arena arena, MemorySegment pointers, MemorySegment[] slots) {
        this.arena = arena;
        this.pointers = pointers;
        this.slots = slots;
    }

    /** Packs {@code arguments} for {@code params}; {@code kernelName} names the kernel in errors. */
    public static KernelArgs pack(String kernelName, List<KernelParam> params, Object... arguments) {
        return pack(Arena.ofShared(), kernelName, params, arguments);
    }

    /**
     * Packs into {@code arena}, which the result owns (a confined one is cheaper to close for one-shot launches).
     * Each value gets a slot of at least 8 bytes at its own alignment: 8 for scalars, 64 for a tensor map.
     */
    static KernelArgs pack(Arena arena, String kernelName, List<KernelParam> params, Object... arguments) {
        try {
            if (arguments.length != params.size()) {
                throw new IllegalArgumentException("kernel '" + kernelName + "' takes " + params.size()
                        + " arguments " + params + ", got " + arguments.length);
            }
            int count = params.size();
            long[] offsets = new long[count];
            long size = 0;
            int alignment = SLOT_BYTES;
            for (int i = 0; i < count; i++) {
                KernelParam param = params.get(i);
                int align = Math.max(SLOT_BYTES, param.alignment());
                size = (size + align - 1) / align * align;
                offsets[i] = size;
                size += Math.max(SLOT_BYTES, param.byteSize());
                alignment = Math.max(alignment, align);
            }
            MemorySegment pointers = arena.allocate(ADDRESS, Math.max(1, count));
            MemorySegment values = arena.allocate(Math.max(SLOT_BYTES, size), alignment);
            MemorySegment[] slots = new MemorySegment[count];
            for (int i = 0; i < count; i++) {
                KernelParam param = params.get(i);
                slots[i] = values.asSlice(offsets[i], Math.max(SLOT_BYTES, param.byteSize()));
                write(slots[i], param, arguments[i], kernelName, i);
                pointers.setAtIndex(ADDRESS, i, slots[i]);
            }
            return new KernelArgs(arena, pointers, slots);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void write(MemorySegment slot, KernelParam param, Object value, String kernel, int index) {
        switch (param.type()) {
            case KernelParam.TENSOR_MAP -> {
                if (!(value instanceof TensorMap map)) {
                    throw mismatch(kernel, index, param, "a TensorMap", value);
                }
                MemorySegment.copy(MemorySegment.ofArray(map.bytes()), 0, slot, 0, TensorMap.BYTES);
            }
            case "u64", "s64", "b64" -> slot.set(JAVA_LONG, 0, switch (value) {
                case DevicePointer pointer -> pointer.address();
                case Long address -> address;
                case null, default -> throw mismatch(kernel, index, param, "a DevicePointer or a Long", value);
            });
            case "u32", "s32", "b32" -> slot.set(JAVA_INT, 0, value instanceof Integer v ? v
                    : throwMismatch(kernel, index, param, "an Integer", value));
            case "f32" -> slot.set(JAVA_FLOAT, 0, value instanceof Float v ? v
                    : throwMismatch(kernel, index, param, "a Float", value));
            case "f64" -> slot.set(JAVA_DOUBLE, 0, value instanceof Double v ? v
                    : throwMismatch(kernel, index, param, "a Double", value));
            case "u16", "s16", "b16", "f16", "bf16" -> slot.set(JAVA_SHORT, 0, value instanceof Short v ? v
                    : throwMismatch(kernel, index, param, "a Short", value));
            case "u8", "s8", "b8" -> slot.set(JAVA_BYTE, 0, value instanceof Byte v ? v
                    : throwMismatch(kernel, index, param, "a Byte", value));
            default -> throw new IllegalArgumentException("kernel '" + kernel + "' parameter " + index + " '"
                    + param.name() + "' has the unsupported PTX type " + param.type());
        }
    }

    private static <T> T throwMismatch(String kernel, int index, KernelParam param, String expected, Object value) {
        throw mismatch(kernel, index, param, expected, value);
    }

    private static IllegalArgumentException mismatch(String kernel, int index, KernelParam param, String expected,
                                                     Object value) {
        return new IllegalArgumentException("kernel '" + kernel + "' parameter " + index + " '" + param.name()
                + "' is ." + param.type() + " and needs " + expected + ", got "
                + (value == null ? "null" : value.getClass().getSimpleName() + " " + value));
    }

    /** The {@code void**} array handed to {@code cuLaunchKernel}. */
    public MemorySegment pointerArray() {
        return pointers;
    }

    /** The packed value of parameter {@code index} (8 bytes, the value at its start; 128 for a tensor map). */
    public MemorySegment valueSlot(int index) {
        return slots[index];
    }

    @Override
    public void close() {
        arena.close();
    }
}
