package io.minference.sparse.config;

import java.nio.file.Path;

/** A pattern file that cannot be used; the message names the file, where in it (layer, head) and the problem. */
public final class PatternFileException extends RuntimeException {
    private final Path file;

    PatternFileException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    PatternFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    static PatternFileException at(Path file, int layer, int head, String problem) {
        return new PatternFileException(file, "layer " + layer + ", head " + head + ": " + problem);
    }

    public Path file() {
        return file;
    }
}
