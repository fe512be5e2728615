package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    private static final long MS = 1_000_000L;

    private final StringWriter err = new StringWriter();
    private long now;

    private ProgressBar bar(boolean terminal) {
        return new ProgressBar(new PrintWriter(err), terminal, () -> now);
    }

    @Test
    void aStageUnderOneSecondDrawsNothing() {
        ProgressBar bar = bar(true);
        for (int done = 0; done <= 100; done++) {
            now = done * 9 * MS;
            bar.progress("prefill", done, 100);
        }
        bar.close();
        assertEquals("", err.toString());
    }

    @Test
    void withoutATerminalItWritesALineAtEachTenth() {
        ProgressBar bar = bar(false);
        for (int done = 0; done <= 1000; done++) {
            now = done * 5 * MS; // 5 s in all: the first second stays quiet
            bar.progress("prefill", done, 1000);
        }
        bar.close();
        String[] lines = err.toString().split("\n");
        assertFalse(err.toString().contains("\r"));
        assertEquals(9, lines.length, err.toString()); // 20%, 30%, ... 100%: 10% was passed within the first second
        assertTrue(lines[0].startsWith("prefill  [######                        ]  20% 200/1000 1.0 s"), lines[0]);
        assertTrue(lines[8].startsWith("prefill  [##############################] 100% 1000/1000 5.0 s"), lines[8]);
    }

    @Test
    void onATerminalItRedrawsOneLineAtMostTenTimesASecond() {
        ProgressBar bar = bar(true);
        for (int done = 0; done <= 3000; done++) {
            now = done * MS; // 3 s in all
            bar.progress("loading", done, 3000);
        }
        String out = err.toString();
        assertTrue(out.endsWith("] 100% 3000/3000 3.0 s\n"), out);
        long redraws = out.chars().filter(c -> c == '\r').count();
        assertTrue(redraws >= 20 && redraws <= 21, "redraws: " + redraws);
        assertEquals(1, out.chars().filter(c -> c == '\n').count());
    }

    @Test
    void closeEndsALineLeftOpenAndANewStageStartsQuietAgain() {
        ProgressBar bar = bar(true);
        bar.progress("loading", 0, 10);
        now = 2000 * MS;
        bar.progress("loading", 5, 10);
        bar.progress("prefill", 0, 10); // loading stopped half-way; the prefill starts its own quiet second
        now = 2500 * MS;
        bar.progress("prefill", 9, 10);
        bar.close();
        assertEquals("\rloading  [###############               ]  50% 5/10 2.0 s, about 2 s left\n", err.toString());
    }

    @Test
    void eachLineEstimatesTheTimeLeftFromTheRateSoFar() {
        ProgressBar bar = bar(false);
        bar.progress("needle", 0, 40);
        now = 90_000 * MS;
        bar.progress("needle", 8, 40); // 8 trials in 90 s: 32 more take about 360 s
        bar.progress("needle", 40, 40);
        bar.close();
        String[] lines = err.toString().split("\n");
        assertEquals("needle   [######                        ]  20% 8/40 90.0 s, about 6 min 00 s left", lines[0]);
        assertEquals("needle   [##############################] 100% 40/40 90.0 s", lines[1]);
        assertEquals("42 s", ProgressBar.duration(41.6));
        assertEquals("2 h 07 min", ProgressBar.duration(2 * 3600 + 7 * 60 + 20));
    }
}
