package io.minference.app;

import io.minference.llama.generate.SparsePrefill;
import io.minference.config.AttentionConfig;
import io.minference.sparse.config.PatternFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Early checks of the files named on the command line, so that a typo gets a plain message, not a loader's. */
final class Inputs {
    private Inputs() {
    }

    static void requireFile(Path file, String what) throws IOException {
        if (Files.isDirectory(file)) throw new IOException(what + " " + file + " is a directory");
        if (!Files.exists(file)) throw new IOException(what + " not found: " + file);
        if (!Files.isReadable(file)) throw new IOException(what + " " + file + " is not readable");
    }

    /** The pattern file, when one is configured: read now, so that its errors come before the model loads. */
    static void requirePatterns(AttentionConfig attention) {
        requirePatterns(attention.patterns());
    }

    /** As {@link #requirePatterns(AttentionConfig)}, for a pattern file given by itself (or null for none). */
    static void requirePatterns(Path patterns) {
        if (patterns != null) PatternFiles.read(patterns, SparsePrefill.registeredPatterns());
    }

    /** A model is a file, or a synthetic:NAME that the loader builds in memory. */
    static void requireModel(String model) throws IOException {
        if (!model.startsWith("synthetic:")) requireFile(Path.of(model), "model file");
    }
}
