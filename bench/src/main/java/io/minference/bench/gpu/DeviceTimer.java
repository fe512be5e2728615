package io.minference.bench.gpu;

import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;

import java.util.Arrays;
import java.util.List;

/** Times queued device work with CUDA events: warm-up runs first, then the median of the timed repeats. */
final class DeviceTimer {
    private DeviceTimer() {
    }

    /**
     * Median milliseconds of {@code work}, which queues its work on the backend's stream: {@link #rotatingMedians} of
     * one work, whose rounds are the {@code repeats}.
     */
    static double medianMillis(CudaBackend backend, int warmups, int repeats, Runnable work) {
        return rotatingMedians(backend, warmups, repeats, List.of(work))[0];
    }

    /**
     * Median milliseconds of each of {@code works}, timed in rounds: after {@code warmups} runs of each, every round
     * runs each once between two events, in the order {@link #rotation} gives: at least {@code repeats} rounds, each
     * work first in as many of them as any other. So no work always runs first, or always right after the same
     * neighbour. (Timed one after another in a fixed order on a 700 W H100, the first of three sparse variants
     * measured 7 % above the third on the same tiles at 128K, in three processes, where alternated on the layer they
     * were level: sessions 24 to 26.)
     */
    static double[] rotatingMedians(CudaBackend backend, int warmups, int repeats, List<Runnable> works) {
        CudaStream stream = backend.stream();
        for (Runnable work : works) {
            for (int i = 0; i < warmups; i++) work.run();
        }
        stream.synchronize();
        int[][] rounds = rotation(works.size(), repeats);
        double[][] millis = new double[works.size()][rounds.length];
        try (CudaEvent start = backend.context().createEvent(); CudaEvent end = backend.context().createEvent()) {
            for (int round = 0; round < rounds.length; round++) {
                for (int work : rounds[round]) {
                    start.record(stream);
                    works.get(work).run();
                    end.record(stream);
                    millis[work][round] = end.elapsedMillisSince(start);
                }
            }
        }
        return Arrays.stream(millis).mapToDouble(DeviceTimer::median).toArray();
    }

    /**
     * The order of {@code count} works in each round of {@link #rotatingMedians}: {@code repeats} rounded up to a
     * multiple of {@code count}, round r starting at work r mod count and going on in list order, so that every work
     * takes every place in the order equally often.
     */
    static int[][] rotation(int count, int repeats) {
        if (count < 1 || repeats < 1) {
            throw new IllegalArgumentException("rotation of " + count + " works in " + repeats + " rounds");
        }
        int[][] rounds = new int[Math.ceilDiv(repeats, count) * count][count];
        for (int round = 0; round < rounds.length; round++) {
            for (int place = 0; place < count; place++) {
                rounds[round][place] = (round + place) % count;
            }
        }
        return rounds;
    }

    /**
     * Median milliseconds per launch of {@code work} run {@code launches} times back to back between two events, after
     * {@code warmups} runs: the host queues launch i + 1 while the GPU runs launch i, so a short kernel is timed
     * without the host's per-call work (argument packing, tensor-map encoding) and without the idle gap a single
     * launch between events leaves when the JIT has not compiled that host path yet.
     */
    static double medianMillisPerLaunch(CudaBackend backend, int warmups, int repeats, int launches, Runnable work) {
        return medianMillis(backend, warmups, repeats, () -> {
            for (int i = 0; i < launches; i++) work.run();
        }) / launches;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
