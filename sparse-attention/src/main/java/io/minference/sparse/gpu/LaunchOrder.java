package io.minference.sparse.gpu;

import io.minference.kernels.KernelSettings;

import java.util.List;

/**
 * In which order the Hopper sparse prefill's blocks take the (head, query block) slots of a launch, from the setting
 * {@value #PROPERTY} (a Java system property: {@code -Dminference.sparse.order=head-major}). The order decides only
 * which block computes which slot, so all give the same outputs bit for bit; they differ in which slots share the
 * GPU at once, and so what of K and V the L2 holds for them, and in how the launch ends: a grid whose last blocks are
 * long slots leaves most SMs idle while those finish.
 * <ul>
 *   <li>{@code last-first}: the grid's order, the last query block of every head first, as the dense
 *       kernel runs its causal rows (the longest first there);</li>
 *   <li>{@code longest-first}: the slots sorted on the device by their key tiles, most first ({@link SlotOrder}:
 *       two small passes before each launch), each block reading its slot from that list; what pairs, clusters
 *       and persistent blocks take;</li>
 *   <li>{@code head-major} (the default): one head after another, each head's last query block first (the grid's x
 *       counts a head's query blocks, its y the heads), so that the blocks resident at once are neighbouring query
 *       blocks of one head, whose key tiles overlap (a kept diagonal's tiles in one query block are the next
 *       diagonal's in the next, and the kept columns are every block's), rather than one query block of every head,
 *       whose working set is every KV head's; the launch still ends on short slots (the last head's first query
 *       blocks), and needs no sort.</li>
 * </ul>
 * The sorted order beat the grid's on an H200 (BENCHMARKS.md, "The Hopper sparse kernel"): the layer-22 mix at 128K
 * took 49.4 / 96.2 / 169.1 ms (structured / RoPE / random) against 56.4 / 117.6 / 171.6 ms. The sorted list's slots
 * of one bucket come mostly in slot order, a head's query blocks together; walking the heads fastest instead made
 * the 512K layer up to 1.85x slower (session 23). Head-major keeps the neighbours and drops the sort: on an H100,
 * 1.00-1.06x the sorted order's speed at 32K and 128K, 1.01-1.20x at 512K, and the whole 512K prefill 6 % faster
 * (BENCHMARKS.md, "Neighbouring query blocks together").
 */
public enum LaunchOrder {
    LAST_FIRST("last-first"), LONGEST_FIRST("longest-first"), HEAD_MAJOR("head-major");

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

    /** The order named {@code value}: {@code last-first}, {@code longest-first} or {@code head-major}. */
    public static LaunchOrder parse(String value) {
        return KernelSettings.parse(PROPERTY, value, List.of(values()), LaunchOrder::setting);
    }
}
