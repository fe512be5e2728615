package io.minference.app.server;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.apache.commons.compress.compressors.CompressorException;
import org.apache.commons.compress.compressors.CompressorStreamFactory;

/**
 * Opens a file that may be compressed with gzip, bzip2 or xz, recognised from its first bytes so that a misnamed file
 * still reads; any other file is read as it is. Prompt files and the demo's haystack texts (the shipped one is xz)
 * both read through here.
 */
public final class CompressedInput {
    private static final Set<String> FORMATS = Set.of(
            CompressorStreamFactory.GZIP, CompressorStreamFactory.BZIP2, CompressorStreamFactory.XZ);

    private CompressedInput() {
    }

    /** Whether the file is gzip, bzip2 or xz (by its first bytes), so that {@link #open} decompresses it. */
    public static boolean isCompressed(Path file) throws IOException {
        try (BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            return format(in) != null;
        }
    }

    /** The file's content, decompressed where it is compressed; the caller closes the stream. */
    public static InputStream open(Path file) throws IOException {
        BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file));
        String format = format(in);
        if (format == null) return in;
        try {
            return new CompressorStreamFactory(true).createCompressorInputStream(format, in);
        } catch (CompressorException e) {
            in.close();
            throw new IOException(format + " data could not be opened: " + e.getMessage(), e);
        }
    }

    /** The supported compression format that {@code in} begins with, or null; {@code in} is left at its start. */
    private static String format(BufferedInputStream in) {
        String format;
        try {
            format = CompressorStreamFactory.detect(in);
        } catch (CompressorException noKnownSignature) {
            return null;
        }
        // Other signatures (zlib's "x^", for one) can begin plain text: only the three supported formats count.
        return FORMATS.contains(format) ? format : null;
    }
}
