package io.minference.runtime.cuda;

/** Device memory as {@code cuMemGetInfo} reports it, in bytes. */
public record MemoryInfo(long freeBytes, long totalBytes) {
    public long usedBytes() {
        return totalBytes - freeBytes;
    }
}
