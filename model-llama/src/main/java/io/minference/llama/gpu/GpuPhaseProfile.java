package io.minference.llama.gpu;

import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A device-time breakdown of a prefill by phase and, outside attention, by kernel: a CUDA event at every mark, and
 * each interval between two marks counted to the phase open then and to the kernel its opening mark named (an
 * interval opened by a phase mark belongs to no kernel). Events are made once and reused by the next run. Device
 * time only: host gaps between launches fall into whatever is open.
 */
public final class GpuPhaseProfile implements KernelMarks, AutoCloseable {
    private final CudaContext context;
    private final List<CudaEvent> events = new ArrayList<>();
    private final List<Phase> phases = new ArrayList<>();
    /** The kernel each interval belongs to; null for one that a phase mark opened. */
    private final List<LinearKernel> kernels = new ArrayList<>();
    private Phase open = Phase.OTHER;
    private int used;

    /** Milliseconds per phase, and per kernel outside attention (every constant present, zero when unmarked). */
    public record Breakdown(Map<Phase, Double> phases, Map<LinearKernel, Double> kernels) {
    }

    public GpuPhaseProfile(CudaContext context) {
        this.context = context;
    }

    @Override
    public void mark(CudaStream stream, Phase phase) {
        record(stream, phase, null);
    }

    @Override
    public void markKernel(CudaStream stream, LinearKernel kernel) {
        record(stream, open, kernel);
    }

    private void record(CudaStream stream, Phase phase, LinearKernel kernel) {
        if (used == events.size()) events.add(context.createEvent());
        events.get(used).record(stream);
        if (phases.size() > used) {
            phases.set(used, phase);
            kernels.set(used, kernel);
        } else {
            phases.add(phase);
            kernels.add(kernel);
        }
        open = phase;
        used++;
    }

    /** Closes the last interval and returns the milliseconds since the first mark (waits for the device). */
    public Breakdown finish(CudaStream stream) {
        mark(stream, Phase.OTHER);
        events.get(used - 1).synchronize();
        Map<Phase, Double> byPhase = new EnumMap<>(Phase.class);
        for (Phase p : Phase.values()) byPhase.put(p, 0.0);
        Map<LinearKernel, Double> byKernel = new EnumMap<>(LinearKernel.class);
        for (LinearKernel k : LinearKernel.values()) byKernel.put(k, 0.0);
        for (int i = 0; i + 1 < used; i++) {
            double millis = events.get(i + 1).elapsedMillisSince(events.get(i));
            byPhase.merge(phases.get(i), millis, Double::sum);
            if (kernels.get(i) != null) byKernel.merge(kernels.get(i), millis, Double::sum);
        }
        used = 0;
        open = Phase.OTHER;
        return new Breakdown(byPhase, byKernel);
    }

    @Override
    public void close() {
        for (CudaEvent e : events) e.close();
        events.clear();
    }
}
