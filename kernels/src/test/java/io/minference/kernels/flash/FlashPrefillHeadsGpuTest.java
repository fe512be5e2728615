package io.minference.kernels.flash;

import io.minference.kernels.attention.AttentionShape;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.GpuTests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link FlashAttention#prefillHeads} (the dense fallback of the sparse prefill) writes exactly the heads it is given,
 * bit for bit as the whole-layer prefill writes them (which {@link FlashAttentionGpuTest} holds to the float64
 * reference), and leaves the other heads' outputs alone: pieces that start inside a KV group, cross a group's end,
 * or cover one head. Outputs are poisoned with NaN first; inputs are fresh random (seed printed).
 */
@Tag("gpu")
class FlashPrefillHeadsGpuTest {
    private static final short POISON = (short) 0x7FC1;
    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @ParameterizedTest(name = "{0} queries")
    @ValueSource(ints = {1, 100, 1000, 4099})
    void headSubsetsEqualTheWholeLayerBitForBit(int count) {
        long seed = System.nanoTime();
        AttentionShape shape = new AttentionShape(8, 2, 128);
        AttentionProblem problem = AttentionProblem.random(shape, count, 0, seed);
        int width = shape.queryDim();
        try (FlashAttention flash = new FlashAttention(backend.context(), shape);
             DeviceBuffer q = upload(AttentionProblem.bits(problem.q()));
             DeviceBuffer k = upload(AttentionProblem.bits(problem.k()));
             DeviceBuffer v = upload(AttentionProblem.bits(problem.v()));
             DeviceBuffer whole = backend.context().allocate(2L * count * width);
             DeviceBuffer parts = backend.context().allocate(2L * count * width)) {
            flash.prefill(backend.stream(), q, k, v, whole, count, 0);
            short[] expected = download(whole, count * width);
            int[][] pieces = {{3, 3}, {0, 1}, {6, 2}, {1, 2}};   // [3, 6) crosses the group end at 4
            short[] poisoned = new short[count * width];
            Arrays.fill(poisoned, POISON);
            parts.copyFromHost(MemorySegment.ofArray(poisoned));
            boolean[] written = new boolean[shape.numHeads()];
            for (int[] piece : pieces) {
                flash.prefillHeads(backend.stream(), q, k, v, parts, count, 0, piece[0], piece[1]);
                for (int h = piece[0]; h < piece[0] + piece[1]; h++) written[h] = true;
                short[] actual = download(parts, count * width);
                for (int i = 0; i < actual.length; i++) {
                    int head = (i % width) / shape.headDim();
                    short want = written[head] ? expected[i] : POISON;
                    if (actual[i] != want) {
                        assertEquals(want, actual[i], "seed " + seed + ": query " + i / width + " head " + head
                                + " after heads [" + piece[0] + ", " + (piece[0] + piece[1]) + ")");
                    }
                }
            }
            System.out.println("prefillHeads, " + count + " queries, seed " + seed + ": every piece bit-exact");
        }
    }

    private static short[] download(DeviceBuffer buffer, int elements) {
        backend.stream().synchronize();
        short[] bits = new short[elements];
        buffer.copyToHost(MemorySegment.ofArray(bits));
        return bits;
    }

    private static DeviceBuffer upload(short[] bits) {
        DeviceBuffer buffer = backend.context().allocate(2L * bits.length);
        buffer.copyFromHost(MemorySegment.ofArray(bits));
        return buffer;
    }
}
