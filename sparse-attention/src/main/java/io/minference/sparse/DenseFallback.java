package io.minference.sparse;

/**
 * When a head's sparse index is not worth it: a head whose index makes the sparse kernel compute more than
 * {@code maxTileShare} of the key tiles causal attention computes ({@link SparseIndex#tiles(int)} over
 * {@link SparseIndex#causalTiles(int)}) runs dense attention instead. The sparse kernel pays for its index walk and
 * its gathered tiles, so past some share dense is faster; the CPU prefill ({@code SparsePrefills.cpu}) and the GPU
 * prefill ({@code GpuSparsePrefill}) decide with this same rule on the same counts.
 *
 * <p>The default, {@value #DEFAULT_MAX_TILE_SHARE}, is where the Hopper kernels broke even in session 22
 * (BENCHMARKS.md, "The dense fallback's share re-measured"): {@code FallbackCrossoverBenchmark} put the sparse kernel
 * at the dense kernel's time at a share of 0.69 at 32K and 0.64 at 128K (NVIDIA H100, 2026-12-06), and the whole 8B
 * prefill at 128K was level from 0.66 to 0.85 and slower at 0.5 and with no fallback. (It was first chosen, with the
 * same value, from the mma.sync kernels' 245/339 TFLOP/s.) Since the sparse kernel's head-major launch order
 * (session 23) the crossover is higher, 0.75 at 32K and 0.77 at 128K, so this default errs towards dense by about
 * 0.1; it stays until a whole-model run with the new order says a higher share pays (on layer 22 no head falls
 * between). {@code SparseLayerBenchmark --fallback} measures it per input family so that it can be set from
 * measurements. The setting is the system property {@value #PROPERTY}
 * ({@code -Dminference.sparse.dense-fallback=0.8}; {@code never} turns the fallback off), read by
 * {@link #configured()}, which the sparse prefills use unless they are given a fallback.
 *
 * @param maxTileShare the largest share of the causal key tiles a head's index may need and still run sparse;
 *                     {@code +inf} never falls back, 0 always does
 */
public record DenseFallback(double maxTileShare) {
    public static final double DEFAULT_MAX_TILE_SHARE = 0.66;
    public static final DenseFallback DEFAULT = new DenseFallback(DEFAULT_MAX_TILE_SHARE);
    /** Every head runs its index, however dense (for tests and for measuring the crossover). */
    public static final DenseFallback NEVER = new DenseFallback(Double.POSITIVE_INFINITY);

    /** The system property that sets the share. */
    public static final String PROPERTY = "minference.sparse.dense-fallback";

    public DenseFallback {
        if (!(maxTileShare >= 0)) {
            throw new IllegalArgumentException("the dense fallback's tile share must be >= 0, got " + maxTileShare);
        }
    }

    /**
     * The fallback the system property {@value #PROPERTY} sets: a share in [0, +inf) or {@code never};
     * {@link #DEFAULT} when unset. A malformed value is an error naming the property.
     */
    public static DenseFallback configured() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) return DEFAULT;
        if (value.trim().equalsIgnoreCase("never")) return NEVER;
        try {
            return new DenseFallback(Double.parseDouble(value.trim()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " must be a tile share >= 0 (e.g. 0.66) or 'never', not '"
                    + value + "'");
        }
    }

    /** Whether a head whose index needs {@code indexTiles} key tiles over a prompt of {@code length} runs dense. */
    public boolean runsDense(long indexTiles, int length) {
        return indexTiles > maxTileShare * SparseIndex.causalTiles(length);
    }

    /** The heads of {@code index} that run dense, by slot. */
    public boolean[] denseHeads(SparseIndex index) {
        boolean[] dense = new boolean[index.heads()];
        for (int h = 0; h < dense.length; h++) dense[h] = runsDense(index.tiles(h), index.length());
        return dense;
    }
}
