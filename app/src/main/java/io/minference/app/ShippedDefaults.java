package io.minference.app;

import io.minference.llama.generate.PasskeyPrompt;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Optional;

/**
 * The model and the haystack text that ship in the repository, used by {@code demo} and {@code serve} when no
 * {@code --model} (or {@code --files}) is given, so that a fresh clone shows pass keys found with nothing beside it:
 * the tiny pass-key model in Q8_0 (made from ../shared's F16 file by {@code minference quantize}) and chapters 1-27
 * of Moby-Dick, xz-compressed. They are looked up under the installation root: the system property
 * {@code minference.home} (bin/minference sets it), else three folders above this class's jar or class folder
 * (ROOT/app/target/minference.jar, ROOT/app/target/classes).
 */
final class ShippedDefaults {
    static final String MODEL = PasskeyPrompt.SHIPPED_MODEL;
    static final String TEXTS = "texts";

    private ShippedDefaults() {
    }

    /** The shipped model, where the installation has it. */
    static Optional<Path> model() {
        return root().map(r -> r.resolve(MODEL)).filter(Files::isRegularFile);
    }

    /** The folder of shipped haystack texts, where the installation has it. */
    static Optional<Path> texts() {
        return root().map(r -> r.resolve(TEXTS)).filter(Files::isDirectory);
    }

    private static Optional<Path> root() {
        String home = System.getProperty("minference.home");
        if (home != null && !home.isBlank()) return Optional.of(Path.of(home));
        CodeSource source = ShippedDefaults.class.getProtectionDomain().getCodeSource();
        if (source == null) return Optional.empty();
        try {
            Path location = Path.of(source.getLocation().toURI()).toAbsolutePath();
            return Optional.ofNullable(location.getParent()).map(Path::getParent).map(Path::getParent);
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
