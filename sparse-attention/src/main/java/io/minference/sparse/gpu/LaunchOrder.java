package io.minference.sparse.gpu;

import io.minference.kernels.KernelSettings;

import java.util.List;

/**
 * In which order the Hopper sparse prefill's blocks take the (head, query block) slots of a launch, from the setting
 * {@value #PROPERTY} (a Java system property: {@code -Dminference.sparse.order=longest-first}). The order decides
 * only which block computes which slot, so both give the same outputs bit for bit; they differ in how the launch
 * ends: a grid whose last blocks are long slots leaves most SMs idle while those finish.
 * <ul>
 *   <li>{@code last-first}: the grid's order, the last query block of every head first, as the dense
 *       kernel runs its causal rows (the longest first there);</li>
 *   <li>{@code longest-first} (the default): the slots sorted on the device by their key tiles, most first ({@link SlotOrder}:
 *       two small passes before each launch), each block reading its slot from that list.</li>
 * </ul>
 * The sorted order is the default since it was measured against the grid's on an H200 (BENCHMARKS.md, "The Hopper
 * sparse kernel"): the layer-22 mix at 128K took 49.4 / 96.2 / 169.1 ms (structured / RoPE / random) against
 * 56.4 / 117.6 / 171.6 ms in the grid's order, in the same call.
 */
public enum LaunchOrder {
    LAST_FIRST("last-first"), LONGEST_FIRST("longest-first");

    /** The system property that chooses. */
    public static final String PROPERTY = "minference.sparse.order";

    private final String setting;

    LaunchOrder(String setting) {
        this.setting = setting;
    }

    /** The setting's spelling. */
    public String setting() {
        return setting;
    }

    /** The order named {@code value}: {@code last-first} or {@code longest-first}. */
    public static LaunchOrder parse(String value) {
        return KernelSettings.parse(PROPERTY, value, List.of(values()), LaunchOrder::setting);
    }
}
