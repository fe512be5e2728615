package io.minference.ptx;

/**
 * One kernel parameter as the launcher must pack it.
 *
 * @param name PTX-visible name
 * @param type its PTX type: {@code u64} for device pointers, {@code u32}, {@code s32}, {@code f32} ...
 */
public record KernelParam(String name, String type) {
    /** Size in bytes of the packed value. */
    public int byteSize() {
        return switch (type) {
            case "u64", "s64", "b64", "f64" -> 8;
            case "u32", "s32", "b32", "f32" -> 4;
            case "u16", "s16", "b16", "f16", "bf16" -> 2;
            case "u8", "s8", "b8" -> 1;
            default -> throw new IllegalArgumentException("unknown PTX parameter type " + type);
        };
    }
}
