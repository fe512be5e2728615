package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import java.nio.file.Path;
import java.util.Optional;

/** Shared test data, or a skipped test when it is absent. */
final class TestFiles {
    private TestFiles() {
    }

    static Path require(String relative) {
        Optional<Path> file = SharedData.file(relative);
        assumeTrue(file.isPresent(), "shared test data " + relative + " is absent");
        return file.get();
    }
}
