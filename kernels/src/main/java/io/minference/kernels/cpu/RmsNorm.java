package io.minference.kernels.cpu;

import io.minference.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** RMSNorm: out = weight ⊙ x / sqrt(mean(x²) + eps), row by row. {@code out} may be {@code in}. */
public final class RmsNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private RmsNorm() {
    }

    public static void apply(Tensor in, Tensor weight, Tensor out, int rows, float eps) {
        int dim = Rows.width(in, rows, "RMSNorm", "input");
        Rows.sameWidth(dim, Rows.width(out, rows, "RMSNorm", "output"), "RMSNorm", "output");
        Rows.sameWidth(dim, Rows.width(weight, 1, "RMSNorm", "weight"), "RMSNorm", "weight");
        MemorySegment x = in.data(), w = weight.data(), y = out.data();
        int vectorEnd = S.loopBound(dim);
        for (int r = 0; r < rows; r++) {
            long base = 4L * r * dim;
            FloatVector squares = FloatVector.zero(S);
            int i = 0;
            for (; i < vectorEnd; i += S.length()) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, base + 4L * i, ORDER);
                squares = v.fma(v, squares);
            }
            float sum = squares.reduceLanes(VectorOperators.ADD);
            for (; i < dim; i++) {
                float v = x.get(F32, base + 4L * i);
                sum += v * v;
            }
            float scale = (float) (1.0 / Math.sqrt(sum / dim + eps));
            i = 0;
            for (; i < vectorEnd; i += S.length()) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, base + 4L * i, ORDER);
                FloatVector g = FloatVector.fromMemorySegment(S, w, 4L * i, ORDER);
                v.mul(scale).mul(g).intoMemorySegment(y, base + 4L * i, ORDER);
            }
            for (; i < dim; i++) y.set(F32, base + 4L * i, x.get(F32, base + 4L * i) * scale * w.get(F32, 4L * i));
        }
    }
}
