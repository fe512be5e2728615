package io.minference.bench.gpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The order in which rotated timings run their works (no GPU). */
class DeviceTimerTest {
    @ParameterizedTest
    @CsvSource({"1, 3", "2, 3", "5, 3", "5, 7", "3, 3", "4, 1"})
    void everyWorkTakesEveryPlaceEquallyOften(int count, int repeats) {
        int[][] rounds = DeviceTimer.rotation(count, repeats);
        assertTrue(rounds.length >= repeats, rounds.length + " rounds for " + repeats + " repeats");
        assertEquals(0, rounds.length % count, rounds.length + " rounds of " + count);
        int[][] timesAtPlace = new int[count][count];
        for (int[] round : rounds) {
            int[] sorted = round.clone();
            Arrays.sort(sorted);
            int[] all = new int[count];
            Arrays.setAll(all, i -> i);
            assertArrayEquals(all, sorted, "a round runs each work once: " + Arrays.toString(round));
            for (int place = 0; place < count; place++) {
                timesAtPlace[round[place]][place]++;
            }
        }
        int each = rounds.length / count;
        for (int[] places : timesAtPlace) {
            for (int times : places) {
                assertEquals(each, times, Arrays.deepToString(timesAtPlace));
            }
        }
    }

    @Test
    void fiveWorksInThreeRepeatsRunFiveRounds() {
        assertEquals(5, DeviceTimer.rotation(5, 3).length);
        assertArrayEquals(new int[] {2, 3, 4, 0, 1}, DeviceTimer.rotation(5, 3)[2]);
    }

    @Test
    void noWorksOrNoRoundsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> DeviceTimer.rotation(0, 3));
        assertThrows(IllegalArgumentException.class, () -> DeviceTimer.rotation(3, 0));
    }
}
