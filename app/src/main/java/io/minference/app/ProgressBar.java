package io.minference.app;

import io.minference.llama.session.GenerationListener;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Draws the progress of loading and prefill on stderr, and only for stages that last more than a second, so that
 * quick runs stay quiet. On a terminal one line is redrawn with carriage returns; elsewhere (a log file, a pipe) a
 * line is written at each tenth of the way. Each line gives the time so far and, from the rate so far, an estimate of
 * the time left.
 */
final class ProgressBar implements GenerationListener, AutoCloseable {
    static final long QUIET_NANOS = 1_000_000_000L;
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier nanoClock;

    private String stage;
    private long stageStart;
    private long lastDraw;
    private long lastTenth;
    private boolean lineOpen;

    ProgressBar(PrintWriter err, boolean terminal) {
        this(err, terminal, System::nanoTime);
    }

    ProgressBar(PrintWriter err, boolean terminal, LongSupplier nanoClock) {
        this.err = err;
        this.terminal = terminal;
        this.nanoClock = nanoClock;
    }

    @Override
    public void progress(String stage, long done, long total) {
        long now = nanoClock.getAsLong();
        if (!stage.equals(this.stage)) begin(stage, now);
        long elapsed = now - stageStart;
        if (elapsed < QUIET_NANOS) return;
        boolean finished = done >= total;
        if (terminal) {
            if (finished || now - lastDraw >= REDRAW_NANOS) {
                err.print("\r" + line(done, total, elapsed));
                lineOpen = true;
                lastDraw = now;
            }
        } else {
            long tenth = total <= 0 ? 10 : Math.min(10, done * 10 / total);
            if (tenth > lastTenth) {
                err.println(line(done, total, elapsed));
                lastTenth = tenth;
            }
        }
        if (finished) end();
        err.flush();
    }

    /** Ends a bar left open, for example by a failure, so that the next message starts on its own line. */
    @Override
    public void close() {
        end();
        err.flush();
    }

    private void begin(String stage, long now) {
        end();
        this.stage = stage;
        stageStart = now;
        lastDraw = Long.MIN_VALUE / 2;
        lastTenth = 0;
    }

    private void end() {
        if (lineOpen) err.println();
        lineOpen = false;
        stage = null;
    }

    private String line(long done, long total, long elapsedNanos) {
        double fraction = total <= 0 ? 1 : Math.min(1, (double) done / total);
        int filled = (int) Math.round(fraction * WIDTH);
        String left = done > 0 && done < total ? ", about " + duration(elapsedNanos / 1e9 * (total - done) / done)
                + " left" : "";
        return String.format(Locale.ROOT, "%-8s [%s%s] %3d%% %d/%d %.1f s%s", stage, "#".repeat(filled),
                " ".repeat(WIDTH - filled), Math.round(fraction * 100), done, total, elapsedNanos / 1e9, left);
    }

    /** Seconds as "42 s", "3 min 05 s" or "2 h 07 min": an estimate, to the second at most. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + " s";
        if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        return String.format(Locale.ROOT, "%d h %02d min", s / 3600, s % 3600 / 60);
    }

    /**
     * This bar with every stage reported as {@code name}: a command whose prefill is its whole work (recall,
     * pattern search) shows it under its own word.
     */
    GenerationListener renamed(String name) {
        return new GenerationListener() {
            @Override
            public void progress(String stage, long done, long total) {
                ProgressBar.this.progress(name, done, total);
            }
        };
    }
}
