package io.minference.sparse.gpu;

import io.minference.kernels.KernelSettings;

import java.util.List;

/**
 * How the Hopper sparse prefill's producer hands a stage of gathered columns to its consumers, from the setting
 * {@value #PROPERTY} (a Java system property: {@code -Dminference.sparse.gather=async}). Both give the same outputs
 * bit for bit; they differ in how many gathered tiles are in flight at once.
 * <ul>
 *   <li>{@code wait}: each producer thread waits for its own 16-byte copies to land ({@code cp.async.wait_all}),
 *       fences them to the async proxy and arrives; so a producer has one gathered tile in flight, and a column
 *       step costs the consumers the whole round trip of its copies whenever the ring has run dry;</li>
 *   <li>{@code warp}: as {@code wait}, but each producer warp arrives once (lane 0, after the warp synchronises):
 *       4 atomics on the stage's barrier word per tile instead of 128; and a range tile is producer warp 0's
 *       alone (its positions, the TMA, one arrival counting four), the other three warps starting at the slot's
 *       first column tile;</li>
 *   <li>{@code async}: each producer thread asks the copy engine to arrive for it when its copies have landed
 *       ({@code cp.async.mbarrier.arrive.noinc}) and goes on to the next stage at once, as a TMA load does; the
 *       consumers fence the stage to the async proxy after its barrier, before their wgmmas read it. The 64
 *       threads that write the stage's key positions arrive once more, with release semantics, for those plain
 *       stores.</li>
 * </ul>
 */
public enum GatherArrival {
    WAIT("wait"), WARP("warp"), ASYNC("async");

    /** The system property that chooses. */
    public static final String PROPERTY = "minference.sparse.gather";

    private final String setting;

    GatherArrival(String setting) {
        this.setting = setting;
    }

    /** The setting's spelling. */
    public String setting() {
        return setting;
    }

    /** The arrival named {@code value}: {@code wait}, {@code warp} or {@code async}. */
    public static GatherArrival parse(String value) {
        return KernelSettings.parse(PROPERTY, value, List.of(values()), GatherArrival::setting);
    }
}
