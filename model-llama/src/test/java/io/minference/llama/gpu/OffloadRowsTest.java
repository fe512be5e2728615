package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The rows an offloaded FP8 cache moves (no GPU needed): what a decode step writes goes back to the host, and lies
 * within what the next step brings in, so that the host copy never misses a row the kernels later read.
 */
class OffloadRowsTest {
    @Test
    void aStepWritesItsTailRowAndAtABlocksEndTheBlocksCodesAndScale() {
        assertEquals(List.of(new GpuKvCache.Rows(4, 5, 6), new GpuKvCache.Rows(5, 5, 6)), CodedGpuKvCache.written(69));
        List<GpuKvCache.Rows> blockEnd = CodedGpuKvCache.written(127);
        assertTrue(blockEnd.containsAll(List.of(new GpuKvCache.Rows(0, 64, 128), new GpuKvCache.Rows(1, 64, 128),
                new GpuKvCache.Rows(2, 1, 2), new GpuKvCache.Rows(3, 1, 2), new GpuKvCache.Rows(4, 63, 64))),
                blockEnd.toString());
    }

    @Test
    void whatAStepWritesIsWithinWhatTheNextStepBringsIn() {
        for (int position = 0; position < 300; position++) {
            List<GpuKvCache.Rows> next = CodedGpuKvCache.held(position + 1);
            for (GpuKvCache.Rows written : CodedGpuKvCache.written(position)) {
                GpuKvCache.Rows held = next.get(written.part());
                assertEquals(written.part(), held.part());
                assertTrue(held.from() <= written.from() && written.to() <= held.to(),
                        "position " + position + ": " + written + " outside " + held);
            }
        }
    }

    @Test
    void aPromptBringsInItsCodesScalesOfEveryStartedBlockAndTheWholeTails() {
        assertEquals(List.of(new GpuKvCache.Rows(0, 0, 130), new GpuKvCache.Rows(1, 0, 130),
                new GpuKvCache.Rows(2, 0, 3), new GpuKvCache.Rows(3, 0, 3), new GpuKvCache.Rows(4, 0, 64),
                new GpuKvCache.Rows(5, 0, 64)), CodedGpuKvCache.held(130));
    }
}
