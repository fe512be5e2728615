package io.minference.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.kernels.flash.DecodeTuning;
import io.minference.kernels.flash.GroupedFlashDecode;
import io.minference.kernels.kvcache.KvCodes;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
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

    /** The layouts decode8-ab.sh compares: the reference first, and each a different 8-bit kernel at LLaMA-3-8B's. */
    @Test
    void theLayoutsStartWithTheReferenceAndEachRunsItsOwnKernel() {
        List<DecodeTuning> layouts = DecodeAttentionBenchmark.layouts();
        assertEquals(DecodeTuning.REFERENCE, layouts.getFirst());
        Set<String> seen = new HashSet<>();
        for (DecodeTuning t : layouts) {
            String kernels = Stream.of(KvCodes.values()).map(codes -> new GroupedFlashDecode(128, 4, true, codes,
                    GroupedFlashDecode.Loop.of(t)).entryName()).toList() + " blocksPerSm=" + t.blocksPerSm();
            assertTrue(seen.add(kernels), "two layouts run " + kernels);
            assertTrue(DecodeAttentionBenchmark.describe(t).contains("laneValues=" + t.laneValues()));
        }
    }
}
