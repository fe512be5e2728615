package io.minference.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * What the host can still give: Linux's MemAvailable, the memory that new allocations can take without swapping
 * (free memory plus the page cache that can be dropped, mapped model files included). Allocations made off the Java
 * heap (tensors, the KV cache) are bounded by it rather than by the heap limit.
 */
public final class HostMemory {
    private HostMemory() {
    }

    /** MemAvailable in bytes, or empty where the platform does not report it. */
    public static OptionalLong availableBytes() {
        return availableBytes(Path.of("/proc/meminfo"));
    }

    static OptionalLong availableBytes(Path meminfo) {
        return kibField(meminfo, "MemAvailable:");
    }

    /**
     * This process's anonymous resident memory (RssAnon: the Java heap, native allocations, pinned buffers; not the
     * pages of mapped files), or empty where the platform does not report it.
     */
    public static OptionalLong residentAnonymousBytes() {
        return kibField(Path.of("/proc/self/status"), "RssAnon:");
    }

    /** The value in bytes of the line that starts with {@code key} in a /proc file that counts in kB. */
    private static OptionalLong kibField(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return OptionalLong.of(Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }
}
