package io.minference.llama.load;

import io.minference.llama.LlamaModel;
import io.minference.runtime.ProgressListener;
import java.nio.file.Path;

/** Loads a model from a --model value. (Owned by the model-files work; stub.) */
public final class ModelLoader {
    private ModelLoader() {
    }

    /**
     * @param model     a .gguf file, a llama2.c checkpoint, "synthetic:NAME" or "synthetic:path/to/shape.yaml"
     * @param tokenizer a tokenizer file overriding the model's own (required for llama2.c checkpoints, whose
     *                  tokenizer lives beside them), or null
     */
    public static LlamaModel load(String model, Path tokenizer, ProgressListener progress) {
        throw new UnsupportedOperationException("stub");
    }

    /** Reads hyper-parameters and tensor types without loading weights. */
    public static ModelInfo inspect(String model) {
        throw new UnsupportedOperationException("stub");
    }
}
