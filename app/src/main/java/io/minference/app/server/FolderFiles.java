package io.minference.app.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The one folder whose files requests may read. A name is resolved inside it, normalized, and its real path (links
 * followed) must still lie inside, so that "../", absolute paths and symbolic links cannot reach anything else.
 */
final class FolderFiles {
    private final Path root;
    private final int maxBytes;

    FolderFiles(Path folder, int maxBytes) throws IOException {
        if (!Files.isDirectory(folder)) throw new IOException("files folder " + folder + " is not a directory");
        this.root = folder.toRealPath();
        this.maxBytes = maxBytes;
    }

    Path root() {
        return root;
    }

    /** The regular files directly inside the folder (links that lead out of it left out), by name. */
    List<String> list() throws IOException {
        try (Stream<Path> files = Files.list(root)) {
            return files.filter(Files::isRegularFile).filter(this::staysInside)
                    .map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private boolean staysInside(Path file) {
        try {
            return file.toRealPath().startsWith(root);
        } catch (IOException e) {
            return false;
        }
    }

    /** The UTF-8 text of the file {@code name} inside the folder, decompressed where it is gzip, bzip2 or xz. */
    String read(String name) throws IOException {
        Path file = resolve(name);
        byte[] bytes;
        try (InputStream in = CompressedInput.open(file)) {
            bytes = in.readNBytes(maxBytes + 1);
        }
        if (bytes.length > maxBytes) {
            throw ApiException.invalid("file", "file " + name + " is larger than " + maxBytes + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ApiException.invalid("file", "file " + name + " is not UTF-8 text");
        }
    }

    /** The real path of {@code name}, which must be an existing regular file inside the folder. */
    Path resolve(String name) throws IOException {
        Path candidate;
        try {
            candidate = root.resolve(name).normalize();
        } catch (InvalidPathException e) {
            throw ApiException.invalid("file", "not a file name: " + name);
        }
        if (name.isEmpty() || Path.of(name).isAbsolute() || !candidate.startsWith(root)) throw outside(name);
        if (!Files.isRegularFile(candidate)) {
            throw new ApiException(404, "invalid_request_error", "file", "no file named " + name);
        }
        Path real = candidate.toRealPath();
        if (!real.startsWith(root)) throw outside(name);
        return real;
    }

    private static ApiException outside(String name) {
        return new ApiException(403, "invalid_request_error", "file",
                "file " + name + " is outside the folder this server may read");
    }
}
