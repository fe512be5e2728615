package io.minference.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.minference.kernels.flash.DecodeTuning;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tunings the decode benchmark compares: the default first, then each with exactly one knob changed. */
class DecodeAttentionBenchmarkTest {
    @Test
    void theDefaultComesFirstAndEveryOtherTuningChangesOneKnob() {
        List<DecodeTuning> tunings = DecodeAttentionBenchmark.tunings();
        DecodeTuning d = DecodeTuning.DEFAULT;
        assertEquals(d, tunings.getFirst());
        assertEquals(tunings.size(), new HashSet<>(tunings).size(), "tunings repeat: " + tunings);
        for (DecodeTuning t : tunings.subList(1, tunings.size())) {
            int changed = (t.combineWarps() != d.combineWarps() ? 1 : 0) + (t.blocksPerSm() != d.blocksPerSm() ? 1 : 0)
                    + (t.unroll() != d.unroll() ? 1 : 0) + (t.prefetch() != d.prefetch() ? 1 : 0)
                    + (t.fp8Instruction() != d.fp8Instruction() ? 1 : 0);
            assertEquals(1, changed, t.toString());
        }
    }
}
