package io.minference.ptx;

/**
 * One kernel parameter as the launcher must pack it.
 *
 * @param name PTX-visible name
 * @param type its PTX type: {@code u64} for device pointers, {@code u32}, {@code s32}, {@code f32} ..., or
 *             {@link #TENSOR_MAP} for a TMA tensor map passed by value
 */
public record KernelParam(String name, String type) {
    /**
     * The type of a {@code CUtensorMap} passed by value (CUDA C's {@code const __grid_constant__ CUtensorMap}): 128
     * opaque bytes aligned to 64, declared {@code .param .align 64 .b8 name[128]}.
     */
    public static final String TENSOR_MAP = "tensormap";

    /** Size in bytes of the packed value. */
    public int byteSize() {
        return switch (type) {
            case TENSOR_MAP -> 128;
            case "u64", "s64", "b64", "f64" -> 8;
            case "u32", "s32", "b32", "f32" -> 4;
            case "u16", "s16", "b16", "f16", "bf16" -> 2;
            case "u8", "s8", "b8" -> 1;
            default -> throw new IllegalArgumentException("unknown PTX parameter type " + type);
        };
    }

    /** The alignment in bytes the value needs in the launcher's argument buffer. */
    public int alignment() {
        return type.equals(TENSOR_MAP) ? 64 : byteSize();
    }

    /** The declaration in the entry's parameter list, for the PTX symbol {@code symbol}. */
    public String declaration(String symbol) {
        return type.equals(TENSOR_MAP) ? ".param .align 64 .b8 " + symbol + "[128]" : ".param ." + type + " " + symbol;
    }
}
