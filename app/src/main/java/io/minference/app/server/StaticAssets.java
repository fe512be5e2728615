package io.minference.app.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** The demo page's files, served from the jar: a fixed folder of resources, plain names only. */
final class StaticAssets {
    private static final String FOLDER = "/io/minference/app/server/assets/";
    private static final Pattern NAME = Pattern.compile("[a-z0-9-]+\\.(html|js|css)");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8");

    private StaticAssets() {
    }

    record Asset(String contentType, byte[] bytes) {
    }

    static Optional<Asset> find(String name) throws IOException {
        if (!NAME.matcher(name).matches()) return Optional.empty();
        try (InputStream in = StaticAssets.class.getResourceAsStream(FOLDER + name)) {
            if (in == null) return Optional.empty();
            String type = TYPES.get(name.substring(name.lastIndexOf('.') + 1));
            return Optional.of(new Asset(type, in.readAllBytes()));
        }
    }
}
