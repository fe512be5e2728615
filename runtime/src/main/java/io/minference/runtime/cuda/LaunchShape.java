package io.minference.runtime.cuda;

/**
 * The grid and block of a launch, in three dimensions.
 */
public record LaunchShape(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ) {
    public LaunchShape {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1) {
            throw new IllegalArgumentException("launch dimensions must be positive: " + describe(gridX, gridY, gridZ,
                    blockX, blockY, blockZ));
        }
        if ((long) blockX * blockY * blockZ > 1024) {
            throw new IllegalArgumentException("a block holds at most 1024 threads: " + describe(gridX, gridY, gridZ,
                    blockX, blockY, blockZ));
        }
        if (gridY > 65535 || gridZ > 65535 || blockZ > 64) {
            throw new IllegalArgumentException("grid y/z are limited to 65535 and block z to 64: "
                    + describe(gridX, gridY, gridZ, blockX, blockY, blockZ));
        }
    }

    /** A one-dimensional launch. */
    public static LaunchShape of(int grid, int block) {
        return new LaunchShape(grid, 1, 1, block, 1, 1);
    }

    /** Enough blocks of {@code block} threads to cover {@code elements}, one thread each. */
    public static LaunchShape covering(long elements, int block) {
        long blocks = (elements + block - 1) / block;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(elements + " elements need too many blocks");
        return of((int) Math.max(1, blocks), block);
    }

    public int threadsPerBlock() {
        return blockX * blockY * blockZ;
    }

    private static String describe(int gx, int gy, int gz, int bx, int by, int bz) {
        return "grid (" + gx + ", " + gy + ", " + gz + "), block (" + bx + ", " + by + ", " + bz + ")";
    }

    @Override
    public String toString() {
        return describe(gridX, gridY, gridZ, blockX, blockY, blockZ);
    }
}
