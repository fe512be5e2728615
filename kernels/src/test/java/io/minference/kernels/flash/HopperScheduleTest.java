package io.minference.kernels.flash;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Hopper loop's schedule as a setting spells it (FlashPrefillSweep's arguments, the sparse schedule property). */
class HopperScheduleTest {
    @Test
    void settingsParse() {
        assertEquals(HopperFlashLoop.Schedule.PLAIN, HopperFlashLoop.Schedule.parse("plain"));
        assertEquals(new HopperFlashLoop.Schedule(false, true), HopperFlashLoop.Schedule.parse("overlap"));
        assertEquals(new HopperFlashLoop.Schedule(true, true), HopperFlashLoop.Schedule.parse("PingPong, overlap"));
        assertEquals("_pingpong", HopperFlashLoop.Schedule.parse("pingpong").suffix());
        assertEquals(new HopperFlashLoop.Schedule(false, false, true, true, false), HopperFlashLoop.Schedule.parse("Warp,lazy"));
        assertEquals("_lazy_warp", HopperFlashLoop.Schedule.parse("warp, lazy").suffix());
        assertEquals("_overlap_lazy_lag", HopperFlashLoop.Schedule.parse("lag,overlap,lazy").suffix());
        assertTrue(HopperFlashLoop.Schedule.parse("overlap,lag").lagValues());
    }

    /** Values lag the keys only where the overlapped schedule reads them a step later. */
    @Test
    void lagWithoutOverlapIsAClearError() {
        var e = assertThrows(IllegalArgumentException.class, () -> HopperFlashLoop.Schedule.parse("lazy,lag"));
        assertTrue(e.getMessage().contains("'lazy,lag'") && e.getMessage().contains("lag wants overlap"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new HopperFlashLoop.Schedule(false, false, true, false, true));
        assertTrue(e.getMessage().contains("overlapped schedule"), e.getMessage());
    }

    @Test
    void anUnknownOptionIsAClearError() {
        var e = assertThrows(IllegalArgumentException.class, () -> HopperFlashLoop.Schedule.parse("overlapped"));
        assertTrue(e.getMessage().contains("'overlapped'"), e.getMessage());
    }

    @Test
    void consumersSplittingTheKeysNeedTwoOfThemAndThreeStages() {
        var schedule = HopperFlashLoop.Schedule.PLAIN;
        var e = assertThrows(IllegalArgumentException.class, () -> new HopperFlashLoop(128, 2, 128, 2, schedule, true));
        assertTrue(e.getMessage().contains("at least 3 stages"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HopperFlashLoop(128, 1, 128, 3, schedule, true));
        assertTrue(e.getMessage().contains("are two"), e.getMessage());
        assertEquals(64, new HopperFlashLoop(128, 2, 128, 3, schedule, true).blockM());
    }

    @Test
    void pingPongNeedsTwoConsumers() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new HopperFlashLoop(128, 1, 64, 3, HopperFlashLoop.Schedule.parse("pingpong")));
        assertTrue(e.getMessage().contains("two consumer warpgroups"), e.getMessage());
    }

    @Test
    void clusterPairsAreSixtyFourRowBlocksOnThePlainOrLazySchedule() {
        var lazy = HopperFlashLoop.Schedule.parse("lazy");
        var e = assertThrows(IllegalArgumentException.class, () -> new HopperFlashPrefill(128, 128, 128, 2, lazy,
                false, true));
        assertTrue(e.getMessage().contains("one consumer warpgroup"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HopperFlashPrefill(128, 64, 64, 3,
                HopperFlashLoop.Schedule.parse("overlap"), false, true));
        assertTrue(e.getMessage().contains("plain or lazy"), e.getMessage());
        var cluster = new HopperFlashPrefill(128, 64, 64, 3, lazy, false, true);
        assertEquals("flash_prefill_sm90a_bf16_d128_m64_n64_s3_lazy_cluster2", cluster.entryName());
        assertEquals(4, cluster.gridBlocks(4 * 64));
        assertEquals(6, cluster.gridBlocks(5 * 64 - 3));
        assertEquals(5, new HopperFlashPrefill(128, 64, 64, 3, lazy).gridBlocks(5 * 64 - 3));
    }

    /**
     * setmaxnreg.inc can only take back what the block's own producer gave up, so the producer's and the consumers'
     * registers together never exceed what the block starts with (ptxas's entry count times the threads), for one
     * and two consumers, persistent or not, and every producer size a source asks for (24 to 80, plus the
     * persistent producer's 24). Two consumers once asked for 65,536 of a block's 64,512 and hung on the GPU.
     */
    @Test
    void theConsumersNeverAskForMoreRegistersThanTheBlockHolds() {
        for (int consumers = 1; consumers <= 2; consumers++) {
            var loop = new HopperFlashLoop(128, consumers, 128, 2);
            int threads = loop.threads();
            assertEquals(consumers == 2 ? 168 : 128, loop.entryRegisters(), "entry registers, " + threads + " threads");
            for (int producer = 24; producer <= 80 + 24; producer += 8) {
                int consumer = loop.consumerRegisters(producer);
                int asked = 128 * producer + 128 * consumers * consumer;
                assertTrue(asked <= loop.entryRegisters() * threads, consumers + " consumer(s), producer " + producer
                        + ": " + asked + " registers asked for, " + loop.entryRegisters() * threads + " held");
                assertEquals(0, consumer % 8);
            }
        }
        assertEquals(240, new HopperFlashLoop(128, 2, 128, 2).consumerRegisters(24), "FlashAttention-3's 24 / 240");
        assertEquals(224, new HopperFlashLoop(128, 2, 128, 2).consumerRegisters(48), "the persistent producer's 48");
        assertEquals(208, new HopperFlashLoop(128, 2, 128, 2).consumerRegisters(80), "pairs, persistent");
        assertEquals(176, new HopperFlashLoop(128, 1, 64, 3).consumerRegisters(80), "one consumer, persistent");
    }
}
