package io.minference.runtime.quant;

/**
 * The eight 6-bit (scale, min) pairs of a Q4_K or Q5_K super-block, packed in 12 bytes s: for sub-block j &lt; 4,
 * scale = s[j] &amp; 63 and min = s[j + 4] &amp; 63; otherwise scale = (s[j + 4] &amp; 15) | (s[j − 4] &gt;&gt; 6)
 * &lt;&lt; 4 and min = (s[j + 4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4.
 */
public final class SubBlockScales {
    private SubBlockScales() {
    }

    /** @param s the 12 bytes, each as an unsigned int */
    public static int scale(int[] s, int j) {
        return j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | ((s[j - 4] >>> 6) << 4);
    }

    public static int min(int[] s, int j) {
        return j < 4 ? s[j + 4] & 63 : (s[j + 4] >>> 4) | ((s[j] >>> 6) << 4);
    }
}
