package io.minference.llama.gpu;

import io.minference.kernels.flash.PhaseMarks;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A device-time breakdown of a prefill by phase: a CUDA event at every {@link PhaseMarks} mark, and each interval
 * between two marks counted to the phase the first one opened. Events are made once and reused by the next run.
 * Device time only: host gaps between launches fall into whatever phase is open.
 */
public final class GpuPhaseProfile implements PhaseMarks, AutoCloseable {
    private final CudaContext context;
    private final List<CudaEvent> events = new ArrayList<>();
    private final List<Phase> phases = new ArrayList<>();
    private int used;

    public GpuPhaseProfile(CudaContext context) {
        this.context = context;
    }

    @Override
    public void mark(CudaStream stream, Phase phase) {
        if (used == events.size()) events.add(context.createEvent());
        events.get(used).record(stream);
        if (phases.size() > used) phases.set(used, phase); else phases.add(phase);
        used++;
    }

    /** Closes the last interval and returns milliseconds per phase since the first mark (waits for the device). */
    public Map<Phase, Double> finish(CudaStream stream) {
        mark(stream, Phase.OTHER);
        events.get(used - 1).synchronize();
        Map<Phase, Double> millis = new EnumMap<>(Phase.class);
        for (Phase p : Phase.values()) millis.put(p, 0.0);
        for (int i = 0; i + 1 < used; i++) {
            millis.merge(phases.get(i), (double) events.get(i + 1).elapsedMillisSince(events.get(i)), Double::sum);
        }
        used = 0;
        return millis;
    }

    @Override
    public void close() {
        for (CudaEvent e : events) e.close();
        events.clear();
    }
}
