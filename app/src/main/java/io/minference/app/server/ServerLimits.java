package io.minference.app.server;

import java.time.Duration;

/**
 * What bounds the server's time, threads and memory, so that no client can hold it: each field names what it
 * protects against.
 *
 * @param requestTimeout     a generation's deadline from the moment it was admitted, queueing included; past it the
 *                           generation is stopped and the request answered 504 (or an error event once streaming)
 * @param maxTokensLimit     the largest {@code max_tokens} a request may ask; above it, a 400 naming the limit
 * @param idleTimeout        how long a connection may make no progress: reading headers or a body, or writing a
 *                           response the client does not read; past it the connection is closed
 * @param maxConnections     open connections at most; beyond them the server stops accepting, and new connections
 *                           wait in the operating system's accept queue until one closes
 * @param maxHeaderBytes     the request line and headers together at most; above it, a 431
 * @param concurrentFileReads file reads ({@code /demo/files}, haystacks from files) at once; more get a 503
 */
public record ServerLimits(Duration requestTimeout, int maxTokensLimit, Duration idleTimeout, int maxConnections,
                           int maxHeaderBytes, int concurrentFileReads) {
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_TOKENS_LIMIT = 4096;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    public static final int DEFAULT_MAX_HEADER_BYTES = 16 << 10;
    public static final int DEFAULT_CONCURRENT_FILE_READS = 4;
    public static final ServerLimits DEFAULTS = new ServerLimits(DEFAULT_REQUEST_TIMEOUT, DEFAULT_MAX_TOKENS_LIMIT,
            DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_CONCURRENT_FILE_READS);

    public ServerLimits {
        requirePositive("request timeout", requestTimeout);
        requirePositive("idle timeout", idleTimeout);
        if (maxTokensLimit < 1) throw new IllegalArgumentException("max tokens limit must be positive, got "
                + maxTokensLimit);
        if (maxConnections < 1) throw new IllegalArgumentException("max connections must be positive, got "
                + maxConnections);
        if (maxHeaderBytes < 1024) throw new IllegalArgumentException("header limit must be at least 1024 bytes, got "
                + maxHeaderBytes);
        if (concurrentFileReads < 1) throw new IllegalArgumentException("concurrent file reads must be positive, got "
                + concurrentFileReads);
    }

    public ServerLimits withRequestTimeout(Duration timeout) {
        return new ServerLimits(timeout, maxTokensLimit, idleTimeout, maxConnections, maxHeaderBytes,
                concurrentFileReads);
    }

    public ServerLimits withMaxTokensLimit(int limit) {
        return new ServerLimits(requestTimeout, limit, idleTimeout, maxConnections, maxHeaderBytes,
                concurrentFileReads);
    }

    public ServerLimits withIdleTimeout(Duration timeout) {
        return new ServerLimits(requestTimeout, maxTokensLimit, timeout, maxConnections, maxHeaderBytes,
                concurrentFileReads);
    }

    public ServerLimits withMaxConnections(int connections) {
        return new ServerLimits(requestTimeout, maxTokensLimit, idleTimeout, connections, maxHeaderBytes,
                concurrentFileReads);
    }

    public ServerLimits withConcurrentFileReads(int reads) {
        return new ServerLimits(requestTimeout, maxTokensLimit, idleTimeout, maxConnections, maxHeaderBytes, reads);
    }

    private static void requirePositive(String what, Duration duration) {
        if (duration == null || duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + duration);
        }
    }
}
