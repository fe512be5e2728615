package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The residual connection: accumulator += delta, over the first {@code rows} rows. */
public final class ResidualAdd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ResidualAdd() {
    }

    public static void apply(Tensor accumulator, Tensor delta, int rows) {
        int width = Rows.width(accumulator, rows, "residual add", "accumulator");
        Rows.sameWidth(width, Rows.width(delta, rows, "residual add", "delta"), "residual add", "delta");
        MemorySegment a = accumulator.data(), d = delta.data();
        long n = (long) rows * width;
        long vectorEnd = n - n % S.length();
        long i = 0;
        for (; i < vectorEnd; i += S.length()) {
            FloatVector.fromMemorySegment(S, a, 4 * i, ORDER)
                    .add(FloatVector.fromMemorySegment(S, d, 4 * i, ORDER))
                    .intoMemorySegment(a, 4 * i, ORDER);
        }
        for (; i < n; i++) a.set(F32, 4 * i, a.get(F32, 4 * i) + d.get(F32, 4 * i));
    }
}
