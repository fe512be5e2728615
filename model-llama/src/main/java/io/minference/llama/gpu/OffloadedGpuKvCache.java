package io.minference.llama.gpu;

import io.minference.config.KvCacheType;
import io.minference.kernels.flash.FlashAttention;
import io.minference.llama.LlamaConfig;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.CudaEvent;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DevicePointer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.PinnedHostBuffer;
import java.util.List;

/**
 * A KV cache (bf16, or 8-bit with fp8 or int8 codes, the same bytes as on the device) whose layers live in pinned host
 * memory, one buffer per layer, with two device slots: a device cache of two layers in the same format, layer l
 * computing in slot l mod 2. Every copy runs on a copy stream of its own, ordered against the compute stream by events,
 * so that layer l+1's copy overlaps layer l's work:
 * <ul>
 *   <li>prefill (layer-major): layer l writes its slot (after the copy that emptied it, two layers before, has
 *       finished) and, once stored, its held rows go to the host while layer l+1 computes in the other slot;</li>
 *   <li>decode step at position p: layers 0 and 1 are brought in first; layer l's step waits for its slot's copy,
 *       writes and attends; then the rows the step wrote go back to the host, and layer l+2 comes into the slot.</li>
 * </ul>
 * The kernels read a slot exactly as they would read the layer's own device cache of the same capacity (same
 * format, same capacity, hence the same split-K decode), so the logits equal those without offload bit for bit.
 * A step's copies grow with the position, so a decode step with offload runs eagerly, not from a CUDA graph
 * ({@link #replayable()}).
 */
final class OffloadedGpuKvCache implements GpuKvCache {
    private final GpuKvCache slots;
    private final int slotCount;
    private final int layerCount;
    private final PinnedHostBuffer[] host;
    /** Offset of each of a layer's parts in its host buffer, and each part's row size in bytes. */
    private final long[] partOffsets;
    private final long[] rowBytes;
    private final CudaStream copies;
    /** Per slot: its layer has arrived; its layer's work is queued up to here; its rows are back on the host. */
    private final CudaEvent[] arrived, computed, emptied;
    private int stepPosition = -1;

    OffloadedGpuKvCache(CudaContext context, LlamaConfig c, int capacity, KvCacheType type) {
        this.layerCount = c.numLayers();
        this.slotCount = Math.min(2, layerCount);
        this.host = new PinnedHostBuffer[layerCount];
        this.arrived = new CudaEvent[slotCount];
        this.computed = new CudaEvent[slotCount];
        this.emptied = new CudaEvent[slotCount];
        GpuKvCache madeSlots = null;
        CudaStream madeCopies = null;
        try {
            madeSlots = switch (type) {
                case BF16 -> new Bf16GpuKvCache(context, c, capacity, slotCount);
                case FP8, INT8 -> new CodedGpuKvCache(context, type, c, capacity, slotCount);
            };
            madeCopies = context.createStream();
            for (int s = 0; s < slotCount; s++) {
                arrived[s] = context.createEvent();
                computed[s] = context.createEvent();
                emptied[s] = context.createEvent();
            }
        } catch (RuntimeException e) {
            closeEvents();
            if (madeCopies != null) madeCopies.close();
            if (madeSlots != null) madeSlots.close();
            throw e;
        }
        this.slots = madeSlots;
        this.copies = madeCopies;
        List<DeviceTensor> parts = slots.layerParts(0);
        this.partOffsets = new long[parts.size()];
        this.rowBytes = new long[parts.size()];
        long offset = 0;
        for (int p = 0; p < parts.size(); p++) {
            partOffsets[p] = offset;
            rowBytes[p] = parts.get(p).byteSize() / parts.get(p).dim(0);
            offset += parts.get(p).byteSize();
        }
        try {
            for (int l = 0; l < layerCount; l++) host[l] = context.allocatePinned(offset);
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("cannot allocate " + layerCount + " layers' KV cache of " + capacity
                    + " positions in pinned host memory (" + GpuMemoryPlan.gib(layerCount * offset) + ")", e);
        }
    }

    private int slot(int layer) {
        return layer % slotCount;
    }

    @Override
    public KvCacheType type() {
        return slots.type();
    }

    @Override
    public int capacity() {
        return slots.capacity();
    }

    @Override
    public List<DeviceTensor> layerParts(int layer) {
        return slots.layerParts(slot(layer));
    }

    @Override
    public List<Rows> heldRows(int length) {
        return slots.heldRows(length);
    }

    @Override
    public List<Rows> stepRows(int position) {
        return slots.stepRows(position);
    }

    @Override
    public boolean replayable() {
        return false;
    }

    // ------------------------------------------------------------------ prefill

    @Override
    public void beginPromptLayer(CudaStream stream, int layer) {
        if (layer >= slotCount) stream.waitFor(emptied[slot(layer)]);
    }

    @Override
    public DeviceTensor promptKeys(int layer) {
        return slots.promptKeys(slot(layer));
    }

    @Override
    public DeviceTensor promptValues(int layer) {
        return slots.promptValues(slot(layer));
    }

    /** Stores the prompt in the layer's slot, then queues its held rows' copy to the host. */
    @Override
    public void storePrompt(CudaStream stream, int layer, int length) {
        slots.storePrompt(stream, slot(layer), length);
        copyOut(stream, layer, heldRows(length));
    }

    @Override
    public long promptBytes(int length) {
        return slots.promptBytes(length);
    }

    @Override
    public void openPrompt(int length) {
        slots.openPrompt(length);
    }

    @Override
    public void closePrompt() {
        slots.closePrompt();
    }

    // ------------------------------------------------------------------ decode

    /** Brings the first layers' rows for a step at {@code position} into their slots. */
    @Override
    public void beginStep(CudaStream stream, int position) {
        stepPosition = position;
        for (int l = 0; l < slotCount; l++) bringIn(l);
    }

    @Override
    public void writeStep(CudaStream stream, int layer, DeviceTensor qkv, DeviceTensor q, DeviceTensor freqs,
                          DevicePointer positionAt) {
        if (stepPosition < 0) throw new IllegalStateException("an offloaded KV cache's step must begin first");
        stream.waitFor(arrived[slot(layer)]);
        slots.writeStep(stream, slot(layer), qkv, q, freqs, positionAt);
    }

    /** Attends over the slot, sends the step's rows home, and brings layer l+2 into the slot. */
    @Override
    public void attendStep(CudaStream stream, FlashAttention attention, int layer, DeviceTensor q, DeviceTensor out,
                           DevicePointer lengthAt) {
        slots.attendStep(stream, attention, slot(layer), q, out, lengthAt);
        copyOut(stream, layer, stepRows(stepPosition));
        if (layer + slotCount < layerCount) bringIn(layer + slotCount);
        if (layer == layerCount - 1) stepPosition = -1;
    }

    /** After the work queued on {@code stream}, copies {@code rows} of the layer's slot to its host buffer. */
    private void copyOut(CudaStream stream, int layer, List<Rows> rows) {
        int s = slot(layer);
        computed[s].record(stream);
        copies.waitFor(computed[s]);
        List<DeviceTensor> parts = slots.layerParts(s);
        for (Rows r : rows) {
            long from = r.from() * rowBytes[r.part()], bytes = (r.to() - r.from()) * rowBytes[r.part()];
            parts.get(r.part()).buffer().copyToHostAsync(host[layer], partOffsets[r.part()] + from, from, bytes,
                    copies);
        }
        emptied[s].record(copies);
    }

    /** Queues the copy of the rows a step at the current position reads into the layer's slot. */
    private void bringIn(int layer) {
        int s = slot(layer);
        List<DeviceTensor> parts = slots.layerParts(s);
        for (Rows r : heldRows(stepPosition)) {
            long from = r.from() * rowBytes[r.part()], bytes = (r.to() - r.from()) * rowBytes[r.part()];
            parts.get(r.part()).buffer().copyFromHostAsync(host[layer], partOffsets[r.part()] + from, from, bytes,
                    copies);
        }
        arrived[s].record(copies);
    }

    private void closeEvents() {
        for (CudaEvent[] events : List.of(arrived, computed, emptied)) {
            for (CudaEvent e : events) if (e != null) e.close();
        }
    }

    @Override
    public void close() {
        if (copies != null) copies.synchronize();
        for (PinnedHostBuffer b : host) if (b != null) b.close();
        closeEvents();
        if (copies != null) copies.close();
        slots.close();
    }
}
