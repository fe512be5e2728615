package io.minference.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Softmax in place, made safe against overflow by subtracting the maximum before exponentiating. */
public final class Softmax {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Softmax() {
    }

    /** Softmax over {@code values[from, from + length)}. */
    public static void inPlace(float[] values, int from, int length) {
        if (length <= 0) return;
        int end = from + length;
        int vectorEnd = from + S.loopBound(length);
        float max = Float.NEGATIVE_INFINITY;
        int i = from;
        if (vectorEnd > from) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i < vectorEnd; i += S.length()) m = m.max(FloatVector.fromArray(S, values, i));
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < end; i++) max = Math.max(max, values[i]);

        FloatVector sums = FloatVector.zero(S);
        i = from;
        for (; i < vectorEnd; i += S.length()) {
            FloatVector e = FloatVector.fromArray(S, values, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(values, i);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; i < end; i++) {
            values[i] = (float) Math.exp(values[i] - max);
            sum += values[i];
        }
        float inverse = 1f / sum;
        i = from;
        for (; i < vectorEnd; i += S.length()) FloatVector.fromArray(S, values, i).mul(inverse).intoArray(values, i);
        for (; i < end; i++) values[i] *= inverse;
    }

    public static void inPlace(float[] values) {
        inPlace(values, 0, values.length);
    }
}
