package io.minference.llama.llama2c;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaWeights;
import io.minference.llama.load.ModelLoadException;
import io.minference.runtime.DType;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads a llama2.c checkpoint's weights. After the header the file holds, all F32: token_embedding_table
 * [vocab, dim]; then, each for all layers in turn, rms_att_weight [L, dim], wq [L, dim, dim], wk [L, kvDim, dim],
 * wv [L, kvDim, dim], wo [L, dim, dim], rms_ffn_weight [L, dim], w1 [L, hidden, dim], w2 [L, dim, hidden],
 * w3 [L, hidden, dim]; rms_final_weight [dim]; freq_cis_real and freq_cis_imag [seqLen, headDim/2] (skipped: RoPE is
 * computed); and wcls [vocab, dim] when the classifier is not shared. Matrices are already row-major [out, in] and
 * the Q/K rows are in the pairwise RoPE order run.c uses.
 */
public final class Llama2cCheckpoint {
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Llama2cCheckpoint() {
    }

    /** Loads the weights of the checkpoint whose validated header is {@code header}, reporting bytes read. */
    public static LlamaWeights load(Path path, Llama2cHeader header, ProgressListener progress) {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new Reader(file, header, progress).readAll();
        } catch (IOException e) {
            throw new ModelLoadException(path.toString(), "cannot read the file: " + e, e);
        }
    }

    /**
     * The tokenizer llama2.c keeps beside its checkpoints: tokenizer.bin, or tok&lt;vocab&gt;.bin for the small
     * custom vocabularies (tok512.bin for stories260K.bin).
     */
    public static Optional<Path> findTokenizer(Path checkpoint, int vocabSize) {
        Path dir = checkpoint.toAbsolutePath().getParent();
        for (String name : List.of("tokenizer.bin", "tok" + vocabSize + ".bin")) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    /** Names and row-major shapes of the tensors in the file, for model inspection. */
    public static List<TensorEntry> tensors(Llama2cHeader h) {
        long dim = h.dim();
        long kv = h.kvDim();
        long hidden = h.hiddenDim();
        long layers = h.numLayers();
        List<TensorEntry> list = new ArrayList<>(List.of(
                new TensorEntry("token_embedding_table", h.vocabSize(), dim),
                new TensorEntry("rms_att_weight", layers, dim),
                new TensorEntry("wq", layers, dim, dim),
                new TensorEntry("wk", layers, kv, dim),
                new TensorEntry("wv", layers, kv, dim),
                new TensorEntry("wo", layers, dim, dim),
                new TensorEntry("rms_ffn_weight", layers, dim),
                new TensorEntry("w1", layers, hidden, dim),
                new TensorEntry("w2", layers, dim, hidden),
                new TensorEntry("w3", layers, hidden, dim),
                new TensorEntry("rms_final_weight", dim),
                new TensorEntry("freq_cis_real", h.seqLen(), h.headDim() / 2),
                new TensorEntry("freq_cis_imag", h.seqLen(), h.headDim() / 2)));
        if (!h.sharedClassifier()) list.add(new TensorEntry("wcls", h.vocabSize(), dim));
        return list;
    }

    /** One array of the checkpoint. */
    public record TensorEntry(String name, long... shape) {
    }

    /** Walks the file in order, copying each layer's slice of a stacked array into its own tensor. */
    private static final class Reader {
        private final MemorySegment file;
        private final Llama2cHeader h;
        private final ProgressListener progress;
        private final List<Tensor> loaded = new ArrayList<>();
        private long position = Llama2cHeader.BYTES;

        Reader(MemorySegment file, Llama2cHeader header, ProgressListener progress) {
            this.file = file;
            this.h = header;
            this.progress = progress;
        }

        LlamaWeights readAll() {
            try {
                return read();
            } catch (RuntimeException | Error e) {
                loaded.forEach(Tensor::close);
                throw e;
            }
        }

        private LlamaWeights read() {
            long dim = h.dim();
            long kv = h.kvDim();
            long hidden = h.hiddenDim();
            int layers = h.numLayers();
            Tensor embedding = next(h.vocabSize(), dim);
            List<Tensor> attentionNorm = stacked(layers, dim);
            List<Tensor> wq = stacked(layers, dim, dim);
            List<Tensor> wk = stacked(layers, kv, dim);
            List<Tensor> wv = stacked(layers, kv, dim);
            List<Tensor> wo = stacked(layers, dim, dim);
            List<Tensor> ffnNorm = stacked(layers, dim);
            List<Tensor> w1 = stacked(layers, hidden, dim);
            List<Tensor> w2 = stacked(layers, dim, hidden);
            List<Tensor> w3 = stacked(layers, hidden, dim);
            Tensor outputNorm = next(dim);
            position += 2L * h.seqLen() * (h.headDim() / 2) * Float.BYTES;
            Tensor classifier = h.sharedClassifier() ? embedding : next(h.vocabSize(), dim);
            List<LayerWeights> layerWeights = new ArrayList<>(layers);
            for (int l = 0; l < layers; l++) {
                layerWeights.add(new LayerWeights(attentionNorm.get(l), wq.get(l), wk.get(l), wv.get(l), wo.get(l),
                        ffnNorm.get(l), w1.get(l), w2.get(l), w3.get(l)));
            }
            progress.progress("loading", file.byteSize(), file.byteSize());
            return new LlamaWeights(embedding, layerWeights, outputNorm, classifier, null);
        }

        private List<Tensor> stacked(int layers, long... shape) {
            List<Tensor> tensors = new ArrayList<>(layers);
            for (int l = 0; l < layers; l++) tensors.add(next(shape));
            return tensors;
        }

        private Tensor next(long... shape) {
            Tensor tensor = Tensor.allocate(DType.F32, shape);
            loaded.add(tensor);
            long count = tensor.elementCount();
            MemorySegment.copy(file, LE_FLOAT, position, tensor.data(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, count);
            position += count * Float.BYTES;
            progress.progress("loading", position, file.byteSize());
            return tensor;
        }
    }
}
