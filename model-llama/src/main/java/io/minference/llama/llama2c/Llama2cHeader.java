package io.minference.llama.llama2c;

import io.minference.llama.LlamaConfig;
import io.minference.llama.load.ModelFormatException;
import io.minference.llama.load.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The seven int32 values that open a llama2.c checkpoint. A negative vocabulary size in the file means that an
 * unshared classifier follows the other weights; {@link #vocabSize} is always positive.
 */
public record Llama2cHeader(int dim, int hiddenDim, int numLayers, int numHeads, int numKvHeads, int vocabSize,
                            boolean sharedClassifier, int seqLen) {
    public static final int BYTES = 7 * Integer.BYTES;
    /** The first int32 of llama2.c's newer export formats ("ak42"), which this reader does not handle. */
    private static final int VERSIONED_EXPORT_MAGIC = 0x616b3432;
    private static final float ROPE_THETA = 10000f;
    private static final float RMS_EPS = 1e-5f;

    /** Reads and validates the header of {@code path}, including the file size it implies. */
    public static Llama2cHeader read(Path path) {
        String source = path.toString();
        ByteBuffer buffer = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long fileSize;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            fileSize = channel.size();
            if (fileSize < BYTES) {
                throw new ModelFormatException(source, "truncated file: a llama2.c checkpoint starts with a "
                        + BYTES + "-byte header, but the file has " + fileSize + " bytes");
            }
            while (buffer.hasRemaining()) {
                if (channel.read(buffer) < 0) throw new ModelFormatException(source, "truncated file");
            }
        } catch (IOException e) {
            throw new ModelLoadException(source, "cannot read the file: " + e, e);
        }
        int[] v = new int[7];
        for (int i = 0; i < 7; i++) v[i] = buffer.getInt(4 * i);
        if (v[0] == VERSIONED_EXPORT_MAGIC) {
            throw new ModelFormatException(source, "llama2.c export format version " + v[1]
                    + " is not supported: only the legacy format (a header of seven int32) is");
        }
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        for (int i = 0; i < 7; i++) {
            if (v[i] == 0 || v[i] < 0 && i != 5 || v[i] == Integer.MIN_VALUE) {
                throw new ModelFormatException(source, "not a llama2.c checkpoint: header value " + names[i] + " = "
                        + v[i] + " (header " + Arrays.toString(v) + ")");
            }
        }
        Llama2cHeader header = new Llama2cHeader(v[0], v[1], v[2], v[3], v[4], Math.abs(v[5]), v[5] > 0, v[6]);
        header.config(source);
        long expected;
        try {
            expected = header.fileSize();
        } catch (ArithmeticException e) {
            throw new ModelFormatException(source, "not a llama2.c checkpoint: the header " + Arrays.toString(v)
                    + " implies more than 2^63 bytes");
        }
        if (expected != fileSize) {
            throw new ModelFormatException(source, (fileSize < expected ? "truncated file" : "unexpected file size")
                    + ": the header " + Arrays.toString(v) + " implies " + expected
                    + " bytes, but the file has " + fileSize);
        }
        return header;
    }

    /** The hyper-parameters: RoPE base 10000 and RMS epsilon 1e-5, as run.c uses. */
    public LlamaConfig config(String source) {
        try {
            return new LlamaConfig(dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize, seqLen, ROPE_THETA,
                    RMS_EPS);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "not a valid llama2.c checkpoint: " + e.getMessage(), e);
        }
    }

    public int headDim() {
        return dim / numHeads;
    }

    public int kvDim() {
        return numKvHeads * headDim();
    }

    /**
     * Floats that follow the header, in file order, the RoPE tables run.c no longer reads included.
     *
     * @throws ArithmeticException when the count overflows a long
     */
    public long floatCount() {
        long d = dim;
        long perLayer = Math.addExact(Math.multiplyExact(2 * d, d + kvDim()),
                Math.multiplyExact(3 * d, (long) hiddenDim)) + 2 * d;
        long embedding = Math.multiplyExact((long) vocabSize, d);
        long ropeTables = Math.multiplyExact((long) seqLen, (long) headDim());
        long weights = Math.addExact(Math.multiplyExact((long) numLayers, perLayer), embedding + d + ropeTables);
        return sharedClassifier ? weights : Math.addExact(weights, embedding);
    }

    public long fileSize() {
        return Math.addExact(BYTES, Math.multiplyExact(floatCount(), (long) Float.BYTES));
    }
}
