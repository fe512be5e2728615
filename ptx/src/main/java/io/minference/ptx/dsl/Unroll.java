package io.minference.ptx.dsl;

/**
 * How a runtime loop should be unrolled. PTX itself only has {@code .pragma "nounroll"}; a factor above one is
 * realised by the DSL repeating the body.
 *
 * @param factor 0 for "ptxas decides", 1 for "do not unroll", n &gt; 1 for "repeat the body n times"
 */
public record Unroll(int factor) {
    /** Let ptxas decide. */
    public static final Unroll AUTO = new Unroll(0);
    /** Keep the loop rolled ({@code .pragma "nounroll"}). */
    public static final Unroll NONE = new Unroll(1);

    public Unroll {
        if (factor < 0 || factor > 64) {
            throw new IllegalArgumentException("unroll factor must be 0..64, got " + factor);
        }
    }

    /** Repeat the body {@code factor} times per iteration, with a remainder loop. */
    public static Unroll by(int factor) {
        return new Unroll(factor);
    }
}
