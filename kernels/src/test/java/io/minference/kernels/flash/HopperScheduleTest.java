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
        assertEquals(new HopperFlashLoop.Schedule(false, false, true, true), HopperFlashLoop.Schedule.parse("Warp,lazy"));
        assertEquals("_lazy_warp", HopperFlashLoop.Schedule.parse("warp, lazy").suffix());
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
}
