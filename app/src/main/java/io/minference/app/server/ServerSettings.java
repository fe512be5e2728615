package io.minference.app.server;

import java.nio.file.Path;

/**
 * How the server listens and what it allows.
 *
 * @param host          the address to bind; 127.0.0.1 unless the user asks otherwise
 * @param port          0 for any free port
 * @param maxBodyBytes  request bodies above this are refused with a 413
 * @param queueCapacity requests that may wait while one generation runs; more get a 503
 * @param demoPage      whether the demo page and its endpoints are served besides the API
 * @param filesFolder   the only folder whose files the demo may list and read (texts for haystacks), or null
 * @param limits        timeouts and bounds on connections, tokens and file reads
 */
public record ServerSettings(String host, int port, int maxBodyBytes, int queueCapacity, boolean demoPage,
                            Path filesFolder, ServerLimits limits) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_MAX_BODY_BYTES = 16 << 20;
    public static final int DEFAULT_QUEUE_CAPACITY = 8;

    public ServerSettings {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be from 0 to 65535, got " + port);
        if (maxBodyBytes < 1) throw new IllegalArgumentException("body limit must be positive, got " + maxBodyBytes);
        if (queueCapacity < 0) throw new IllegalArgumentException("queue must be >= 0, got " + queueCapacity);
        if (limits == null) throw new IllegalArgumentException("limits must be given; ServerLimits.DEFAULTS for none");
    }

    /** With the default {@link ServerLimits}. */
    public ServerSettings(String host, int port, int maxBodyBytes, int queueCapacity, boolean demoPage,
                          Path filesFolder) {
        this(host, port, maxBodyBytes, queueCapacity, demoPage, filesFolder, ServerLimits.DEFAULTS);
    }
}
