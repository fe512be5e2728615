package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * app reaches the model through the session API (model-llama): its main sources import nothing of the kernels,
 * runtime or sparse-attention modules but the public kernel catalog (for {@code minference kernels}) and
 * sparse-attention's pattern-file API (the pattern files, the patterns they hold, and the pattern search that writes
 * them).
 */
class AppImportsTest {
    private static final Pattern INTERNAL = Pattern.compile(
            "^import\\s+(static\\s+)?(io\\.minference\\.(kernels|runtime|sparse)\\.[\\w.]+);", Pattern.MULTILINE);
    private static final Set<String> PUBLIC = Set.of(
            "io.minference.kernels.catalog.KernelCatalog",
            "io.minference.sparse.config.PatternFiles",
            "io.minference.sparse.config.PatternFileException",
            "io.minference.sparse.HeadPattern",
            "io.minference.sparse.PatternPlan",
            "io.minference.sparse.PatternSearch",
            "io.minference.sparse.IndexCost");

    @Test
    void appImportsOnlyThePublicCatalogAndThePatternFileApi() throws IOException {
        // Maven runs the tests in the module's folder; the GPU bundle's launcher in the project's root
        Path sources = Stream.of("src/main/java/io/minference/app", "app/src/main/java/io/minference/app")
                .map(Path::of).filter(Files::isDirectory).findFirst().orElse(null);
        assertTrue(sources != null, "app's sources are not under " + Path.of("").toAbsolutePath());
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Matcher m = INTERNAL.matcher(Files.readString(file));
                while (m.find()) {
                    if (!PUBLIC.contains(m.group(2))) found.add(sources.relativize(file) + ": " + m.group(2));
                }
            }
        }
        assertEquals(List.of(), found, "app imports internals of kernels, runtime or sparse-attention");
    }
}
