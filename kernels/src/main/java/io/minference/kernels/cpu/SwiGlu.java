package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The SwiGLU gate: out = silu(gate) ⊙ up, silu(g) = g / (1 + e^-g). {@code out} may be {@code gate} or {@code up}. */
public final class SwiGlu {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private SwiGlu() {
    }

    public static void apply(Tensor gate, Tensor up, Tensor out, int rows) {
        int width = Rows.width(gate, rows, "SwiGLU", "gate");
        Rows.sameWidth(width, Rows.width(up, rows, "SwiGLU", "up"), "SwiGLU", "up");
        Rows.sameWidth(width, Rows.width(out, rows, "SwiGLU", "output"), "SwiGLU", "output");
        MemorySegment g = gate.data(), u = up.data(), y = out.data();
        long n = (long) rows * width;
        long vectorEnd = n - n % S.length();
        long i = 0;
        for (; i < vectorEnd; i += S.length()) {
            FloatVector a = FloatVector.fromMemorySegment(S, g, 4 * i, ORDER);
            FloatVector b = FloatVector.fromMemorySegment(S, u, 4 * i, ORDER);
            FloatVector silu = a.div(a.neg().lanewise(VectorOperators.EXP).add(1f));
            silu.mul(b).intoMemorySegment(y, 4 * i, ORDER);
        }
        for (; i < n; i++) {
            float a = g.get(F32, 4 * i);
            y.set(F32, 4 * i, a / (1f + (float) Math.exp(-a)) * u.get(F32, 4 * i));
        }
    }
}
