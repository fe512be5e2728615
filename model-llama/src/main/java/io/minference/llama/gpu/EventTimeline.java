package io.minference.llama.gpu;

import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Device time by kind of work: a CUDA event at every mark, and each interval between two marks counted to the kind
 * the first one opened. Events are made once and reused by the next run. Device time only: host gaps between
 * launches fall into whatever kind is open.
 *
 * @param <K> the kinds a breakdown reports
 */
final class EventTimeline<K extends Enum<K>> implements AutoCloseable {
    private final CudaContext context;
    private final Class<K> kinds;
    private final List<CudaEvent> events = new ArrayList<>();
    private final List<K> opened = new ArrayList<>();
    private int used;

    EventTimeline(CudaContext context, Class<K> kinds) {
        this.context = context;
        this.kinds = kinds;
    }

    /** The work queued on {@code stream} from now on is of {@code kind}, until the next mark. */
    void mark(CudaStream stream, K kind) {
        if (used == events.size()) events.add(context.createEvent());
        events.get(used).record(stream);
        if (opened.size() > used) opened.set(used, kind); else opened.add(kind);
        used++;
    }

    /**
     * Closes the last interval with a mark of {@code last} and returns milliseconds per kind since the first mark
     * (waits for the device); starts afresh.
     */
    Map<K, Double> finish(CudaStream stream, K last) {
        mark(stream, last);
        events.get(used - 1).synchronize();
        Map<K, Double> millis = new EnumMap<>(kinds);
        for (K kind : kinds.getEnumConstants()) millis.put(kind, 0.0);
        for (int i = 0; i + 1 < used; i++) {
            millis.merge(opened.get(i), (double) events.get(i + 1).elapsedMillisSince(events.get(i)), Double::sum);
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
