package io.minference.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the folder of shared test data (models, tokenizers, texts) that lives beside the repository, never in it.
 * Order: the system property {@code minference.testData}, the environment variable {@code MINFERENCE_TEST_DATA},
 * then {@code ../shared/data} from the repository root. The root is the system property
 * {@code minference.projectRoot} (Surefire sets it) or the first folder upwards from the working directory that
 * holds a {@code .ci} folder, so that tests running inside a module folder still find it.
 */
public final class SharedData {
    private SharedData() {
    }

    /** The data folder, if it exists. */
    public static Optional<Path> root() {
        String property = System.getProperty("minference.testData");
        if (property != null && !property.isBlank()) return existing(Path.of(property));
        String env = System.getenv("MINFERENCE_TEST_DATA");
        if (env != null && !env.isBlank()) return existing(Path.of(env));
        return projectRoot().flatMap(root -> existing(root.resolve("../shared/data").normalize()));
    }

    /** A file under the data folder, if both exist. */
    public static Optional<Path> file(String relative) {
        return root().map(r -> r.resolve(relative)).filter(Files::isRegularFile);
    }

    /** The repository root, if found. */
    public static Optional<Path> projectRoot() {
        String property = System.getProperty("minference.projectRoot");
        if (property != null && !property.isBlank()) return existing(Path.of(property));
        Path dir = Path.of("").toAbsolutePath();
        for (; dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve(".ci"))) return Optional.of(dir);
        }
        return Optional.empty();
    }

    private static Optional<Path> existing(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        return Files.isDirectory(abs) ? Optional.of(abs) : Optional.empty();
    }
}
