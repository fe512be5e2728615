package io.minference.runtime.cuda;

/**
 * What probing the CUDA driver found.
 *
 * @param available     whether a CUDA backend can be opened
 * @param reason        when unavailable, which part is missing and why; when available, a one-line summary
 * @param deviceCount   CUDA devices seen (0 when unavailable)
 * @param driverVersion the driver's CUDA version as 1000 * major + 10 * minor (0 when unknown)
 */
public record CudaAvailability(boolean available, String reason, int deviceCount, int driverVersion) {
    static CudaAvailability missing(String reason) {
        return new CudaAvailability(false, reason, 0, 0);
    }

    /** The driver's CUDA version as "major.minor". */
    public String driverVersionText() {
        return driverVersion / 1000 + "." + driverVersion % 1000 / 10;
    }
}
