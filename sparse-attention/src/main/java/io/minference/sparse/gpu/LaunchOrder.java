package io.minference.sparse.gpu;

import java.util.Locale;

/**
 * In which order the Hopper sparse prefill's blocks take the (head, query block) slots of a launch, from the setting
 * {@value #PROPERTY} (a Java system property: {@code -Dminference.sparse.order=longest-first}). The order decides
 * only which block computes which slot, so both give the same outputs bit for bit; they differ in how the launch
 * ends: a grid whose last blocks are long slots leaves most SMs idle while those finish.
 * <ul>
 *   <li>{@code last-first} (the default): the grid's order, the last query block of every head first, as the dense
 *       kernel runs its causal rows (the longest first there);</li>
 *   <li>{@code longest-first}: the slots sorted on the device by their key tiles, most first ({@link SlotOrder}:
 *       two small passes before each launch), each block reading its slot from that list.</li>
 * </ul>
 * The default stays the grid's order until the sorted one has been measured against it on the GPU.
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

    /** The order the system property names ({@link #LAST_FIRST} when unset); a misspelling is an error naming it. */
    public static LaunchOrder configured() {
        return parse(System.getProperty(PROPERTY, LAST_FIRST.setting));
    }

    /** The order named {@code value}: {@code last-first} or {@code longest-first}. */
    public static LaunchOrder parse(String value) {
        String wanted = value.trim().toLowerCase(Locale.ROOT);
        for (LaunchOrder order : values()) {
            if (order.setting.equals(wanted)) return order;
        }
        throw new IllegalArgumentException(PROPERTY + " must be last-first or longest-first, not '" + value + "'");
    }
}
