package io.minference.config;

import java.nio.file.Path;

/**
 * A configuration file that cannot be used. The message names the file, where in it the problem is (a key path such
 * as {@code generation.top_p}, or a line and column for malformed YAML) and what is wrong.
 */
public final class ConfigException extends RuntimeException {
    private final Path file;
    private final String keyPath;

    private ConfigException(Path file, String keyPath, String message) {
        super(message);
        this.file = file;
        this.keyPath = keyPath;
    }

    /** A problem with the value (or the presence) of one key. */
    public static ConfigException atKey(Path file, String keyPath, String problem) {
        return new ConfigException(file, keyPath, file + ": " + keyPath + ": " + problem);
    }

    /** A problem at a position in the text; line and column count from 1. */
    public static ConfigException atPosition(Path file, int line, int column, String problem) {
        return new ConfigException(file, null, file + ":" + line + ":" + column + ": " + problem);
    }

    /** A problem with the file as a whole (missing, unreadable, not a mapping). */
    public static ConfigException ofFile(Path file, String problem) {
        return new ConfigException(file, null, file + ": " + problem);
    }

    public Path file() {
        return file;
    }

    /** The dotted path of the offending key, or null when the problem is not about one key. */
    public String keyPath() {
        return keyPath;
    }
}
