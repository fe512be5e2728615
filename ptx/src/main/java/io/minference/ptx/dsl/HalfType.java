package io.minference.ptx.dsl;

import java.util.function.Function;

/**
 * The 16-bit float element types of mma and ldmatrix, as type tokens for the packed register class they load.
 *
 * @param <P> the packed register class
 */
public final class HalfType<P extends PackedHalf2> {
    /** bfloat16. */
    public static final HalfType<Bf16x2> BF16 = new HalfType<>("bf16", Bf16x2::new);
    /** IEEE half. */
    public static final HalfType<F16x2> F16 = new HalfType<>("f16", F16x2::new);

    private final String ptx;
    private final Function<String, P> factory;

    private HalfType(String ptx, Function<String, P> factory) {
        this.ptx = ptx;
        this.factory = factory;
    }

    /** The type as mma spells it. */
    public String ptx() {
        return ptx;
    }

    P fresh(String hint) {
        return factory.apply(hint);
    }

    @Override
    public String toString() {
        return ptx;
    }
}
