package io.minference.runtime.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The eight 6-bit (scale, min) pairs of a Q4_K or Q5_K super-block, packed in 12 bytes s: for sub-block j &lt; 4,
 * scale = s[j] &amp; 63 and min = s[j + 4] &amp; 63; otherwise scale = (s[j + 4] &amp; 15) | (s[j − 4] &gt;&gt; 6)
 * &lt;&lt; 4 and min = (s[j + 4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4. Read as two words, bytes 0..7 in
 * {@code low} and 8..11 in {@code high} (little-endian), so that one super-block costs two loads.
 *
 * @param low  bytes 0..7
 * @param high bytes 8..11
 */
public record SubBlockScales(long low, int high) {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The 12 bytes at {@code at}. */
    public static SubBlockScales read(MemorySegment src, long at) {
        return new SubBlockScales(src.get(LONG, at), src.get(INT, at + 8));
    }

    /** Byte i of the 12, unsigned. */
    private int s(int i) {
        return i < 8 ? (int) (low >>> 8 * i) & 0xFF : high >>> 8 * (i - 8) & 0xFF;
    }

    public int scale(int j) {
        return j < 4 ? s(j) & 63 : (s(j + 4) & 0xF) | (s(j - 4) >>> 6) << 4;
    }

    public int min(int j) {
        return j < 4 ? s(j + 4) & 63 : (s(j + 4) >>> 4) | (s(j) >>> 6) << 4;
    }
}
