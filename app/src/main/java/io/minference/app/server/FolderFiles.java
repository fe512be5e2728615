package io.minference.app.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;

/**
 * The one folder whose files requests may read. A name is resolved inside it, normalized, and its real path (links
 * followed) must still lie inside, so that "../", absolute paths and symbolic links cannot reach anything else.
 * At most {@code concurrentReads} reads run at once, more get a 503: a file sent to a client is streamed from disk,
 * but a haystack's text is read whole, and many of those at once would fill the heap.
 */
final class FolderFiles {
    private static final int DECODE_BUFFER_BYTES = 64 << 10;
    private static final String TEXT = "text/plain; charset=utf-8";

    private final Path root;
    private final int maxBytes;
    private final Semaphore reads;
    private final int concurrentReads;

    FolderFiles(Path folder, int maxBytes, int concurrentReads) throws IOException {
        if (!Files.isDirectory(folder)) throw new IOException("files folder " + folder + " is not a directory");
        this.root = folder.toRealPath();
        this.maxBytes = maxBytes;
        this.reads = new Semaphore(concurrentReads);
        this.concurrentReads = concurrentReads;
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
        acquire();
        try {
            byte[] bytes;
            try (InputStream in = CompressedInput.open(file)) {
                bytes = in.readNBytes(maxBytes + 1);
            }
            if (bytes.length > maxBytes) throw tooLarge(name);
            try {
                return utf8Decoder().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw notText(name);
            }
        } finally {
            reads.release();
        }
    }

    /**
     * Sends the file {@code name} as UTF-8 text (decompressed where it is compressed), streamed from disk after a
     * first streamed pass checks that it is text within the size limit.
     */
    void send(HttpCall call, String name) throws IOException {
        Path file = resolve(name);
        acquire();
        try {
            checkUtf8(name, file);
            if (!CompressedInput.isCompressed(file)) {
                call.sendFile(200, TEXT, file);
                return;
            }
            // Decompressed on the fly: the length is known only at the end, so the body goes chunked.
            try (InputStream in = CompressedInput.open(file); OutputStream out = call.open(200, TEXT, -1)) {
                in.transferTo(out);
            }
        } finally {
            reads.release();
        }
    }

    private void acquire() {
        if (!reads.tryAcquire()) {
            throw new ApiException(503, "server_busy", "file", "the server is reading " + concurrentReads
                    + " files already; try again later");
        }
    }

    private ApiException tooLarge(String name) {
        return ApiException.invalid("file", "file " + name + " is larger than " + maxBytes + " bytes");
    }

    /** One streamed pass over the (decompressed) content: UTF-8 throughout, and no more than the size limit. */
    private void checkUtf8(String name, Path file) throws IOException {
        CharsetDecoder decoder = utf8Decoder();
        ByteBuffer bytes = ByteBuffer.allocate(DECODE_BUFFER_BYTES);
        CharBuffer chars = CharBuffer.allocate(DECODE_BUFFER_BYTES);
        long total = 0;
        try (ReadableByteChannel in = Channels.newChannel(CompressedInput.open(file))) {
            boolean end = false;
            while (!end) {
                int n = in.read(bytes);
                end = n < 0;
                if (n > 0 && (total += n) > maxBytes) throw tooLarge(name);
                bytes.flip();
                CoderResult result;
                do {
                    result = decoder.decode(bytes, chars, end);
                    if (result.isError()) throw notText(name);
                    chars.clear();
                } while (result.isOverflow());
                bytes.compact();
            }
            if (decoder.flush(chars).isError()) throw notText(name);
        }
    }

    private static CharsetDecoder utf8Decoder() {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    private static ApiException notText(String name) {
        return ApiException.invalid("file", "file " + name + " is not UTF-8 text");
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
