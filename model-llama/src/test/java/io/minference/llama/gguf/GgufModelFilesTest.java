package io.minference.llama.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.llama.LayerWeights;
import io.minference.llama.LlamaConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.LlamaWeights;
import io.minference.llama.load.ModelInfo;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ModelLoader on GGUF files: dispatch by magic, inspection, and the real tiny-passkey model. */
class GgufModelFilesTest {
    @TempDir
    Path dir;

    private static Path passkeyModel() {
        Path file = SharedData.file("models/tiny-passkey-llama-f16.gguf").orElse(null);
        Assumptions.assumeTrue(file != null, "shared data models/tiny-passkey-llama-f16.gguf is absent");
        return file;
    }

    @Test
    void ggufIsRecognizedByItsMagicWhateverTheSuffix() throws IOException {
        Path file = new GgufWriter()
                .putString("general.architecture", "llama")
                .putUint32("llama.context_length", 16).putUint32("llama.embedding_length", 8)
                .putUint32("llama.block_count", 1).putUint32("llama.feed_forward_length", 16)
                .putUint32("llama.attention.head_count", 2).putUint32("llama.vocab_size", 3)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-6)
                .tensor("token_embd.weight", GgmlType.F32, new long[] {8, 3}, new byte[96])
                .write(dir.resolve("model.bin"));
        ModelInfo info = ModelLoader.inspect(file.toString());
        assertEquals("gguf v3", info.format());
        assertEquals(new LlamaConfig(8, 16, 1, 2, 2, 3, 16, 10000f, 1e-6f), info.config());
        assertEquals("token_embd.weight", info.tensors().getFirst().name());
        assertEquals("F32", info.tensors().getFirst().type());
        assertArrayEquals(new long[] {3, 8}, info.tensors().getFirst().shape());
    }

    @Test
    void passkeyModelHyperParametersAndTensors() {
        ModelInfo info = ModelLoader.inspect(passkeyModel().toString());
        assertEquals("gguf v3", info.format());
        LlamaConfig c = info.config();
        assertEquals(6, c.numLayers());
        assertEquals(384, c.dim());
        assertEquals(6, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(1024, c.hiddenDim());
        assertEquals(500000f, c.ropeTheta());
        assertEquals(4096, c.vocabSize());
        assertEquals(64, c.headDim());
        Map<String, String> types = info.tensors().stream()
                .collect(Collectors.toMap(ModelInfo.TensorSummary::name, ModelInfo.TensorSummary::type));
        assertEquals("F16", types.get("blk.0.attn_q.weight"));
        assertEquals("F32", types.get("blk.0.attn_norm.weight"));
    }

    @Test
    void passkeyModelWeights() throws IOException {
        Path file = passkeyModel();
        try (GgufFile gguf = GgufFile.open(file)) {
            LlamaConfig c = GgufLlama.readConfig(gguf);
            try (LlamaWeights w = GgufLlama.readWeights(gguf, c, ProgressListener.NONE)) {
                assertArrayEquals(new long[] {4096, 384}, w.tokenEmbedding().shape());
                assertEquals(6, w.layers().size());
                LayerWeights l5 = w.layers().get(5);
                assertArrayEquals(new long[] {384, 384}, l5.wq().shape());
                assertArrayEquals(new long[] {128, 384}, l5.wk().shape());
                assertArrayEquals(new long[] {128, 384}, l5.wv().shape());
                assertArrayEquals(new long[] {384, 384}, l5.wo().shape());
                assertArrayEquals(new long[] {1024, 384}, l5.wGate().shape());
                assertArrayEquals(new long[] {384, 1024}, l5.wDown().shape());
                assertArrayEquals(new long[] {1024, 384}, l5.wUp().shape());
                assertArrayEquals(new long[] {384}, w.outputNorm().shape());
                assertArrayEquals(new long[] {4096, 384}, w.classifier().shape());

                // Element (row 100, column 7) of blk.5.ffn_down, read straight from the file's bytes.
                GgufTensorInfo down = gguf.requireTensor("blk.5.ffn_down.weight");
                long at = gguf.dataOffset() + down.dataOffset() + 2L * (100 * 1024 + 7);
                ByteBuffer half = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                    channel.read(half, at);
                }
                assertEquals(Float.float16ToFloat(half.getShort(0)), l5.wDown().getFloat(100 * 1024 + 7));
                float norm = 0;
                for (int i = 0; i < 384; i++) norm += Math.abs(l5.attentionNorm().getFloat(i));
                assertTrue(norm > 0, "trained norm weights are not all zero");
            }
        }
    }

    /** The GGUF model with the byte-level BPE tokenizer of its metadata. */
    @Test
    void loadsThePasskeyModelWithItsTokenizer() {
        Path file = passkeyModel();
        try (LlamaModel model = ModelLoader.load(file.toString(), null, ProgressListener.NONE)) {
            assertEquals(4096, model.tokenizer().vocabSize());
            assertEquals(0, model.tokenizer().bos());
            assertEquals(1, model.tokenizer().eos());
            assertEquals(6, model.config().numLayers());
        }
    }
}
