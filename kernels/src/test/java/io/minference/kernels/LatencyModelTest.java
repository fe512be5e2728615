package io.minference.kernels;

import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelBuilder;
import io.minference.ptx.dsl.KernelDefinition;
import io.minference.ptx.dsl.U32;
import io.minference.ptx.dsl.U64;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WarpEmulator#modelledCycles}: eight global loads a thread, each address taken from the load before (a chain
 * of round trips) or all from the thread's index (issued together), then one sum; and the same behind a
 * {@code bar.sync} that one warp reaches late. The chain costs about eight times the model's global latency, the
 * independent loads about one, and a barrier holds every warp until the slowest arrives.
 */
class LatencyModelTest {
    /** out[tid] = the sum of eight loads from {@code in}: chained (each index the previous value) or not. */
    record Loads(boolean chained, boolean barrier) implements KernelDefinition {
        @Override
        public String entryName() {
            return "loads_" + (chained ? "chained" : "independent") + (barrier ? "_barrier" : "");
        }

        @Override
        public void define(KernelBuilder k) {
            U64 in = k.pointerParam("in");
            U64 out = k.pointerParam("out");
            U32 tid = k.threadIdx();
            if (barrier) {
                // warp 1 first waits for a chain of four loads of its own; warp 0 has nothing to wait for
                U32 late = k.var("late", k.u32(0));
                k.ifThen(k.ge(tid, k.u32(32)), () -> {
                    U32 at = tid;
                    for (int i = 0; i < 4; i++) at = k.and(k.loadU32(k.element(in, at, 4)), 63);
                    k.set(late, at);
                });
                k.store(k.element(out, k.add(tid, k.u32(64)), 4), late);
                k.barrier();
            }
            U32 sum = k.u32(0);
            U32 at = tid;
            for (int i = 0; i < 8; i++) {
                U32 value = k.loadU32(k.element(in, chained ? at : k.add(tid, k.u32(i)), 4));
                if (chained) at = k.and(value, 63);
                sum = k.add(sum, value);
            }
            k.store(k.element(out, tid, 4), sum);
        }
    }

    @ParameterizedTest(name = "chained {0}, barrier {1}")
    @CsvSource({"true, false", "false, false", "false, true"})
    void roundTripsChainOrOverlap(boolean chained, boolean barrier) {
        WarpEmulator gpu = new WarpEmulator(new Loads(chained, barrier).emit(PtxTarget.SM_80).ptx());
        int[] values = new int[128];
        for (int i = 0; i < values.length; i++) values[i] = (i * 7 + 3) % 64;
        gpu.runBlock(Map.of("in", gpu.upload(WarpEmulator.u32Bytes(values)), "out", gpu.allocate(4 * 128)), 0, 0, 1,
                64);
        long cycles = gpu.modelledCycles();
        long latency = WarpEmulator.GLOBAL_LATENCY;
        String what = "modelled " + cycles + " cycles";
        if (chained) {
            assertTrue(cycles >= 8 * latency && cycles < 9 * latency, what + " for eight chained loads");
        } else if (!barrier) {
            assertTrue(cycles >= latency && cycles < 2 * latency, what + " for eight independent loads");
        } else {
            // warp 1's four chained loads before the barrier, then every warp's independent eight
            assertTrue(cycles >= 5 * latency && cycles < 6 * latency, what + " behind a late warp's barrier");
        }
    }
}
