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
}
