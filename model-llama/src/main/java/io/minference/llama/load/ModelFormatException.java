package io.minference.llama.load;

/**
 * A model file (GGUF, llama2.c checkpoint or synthetic shape YAML) whose content is malformed, truncated or
 * unsupported. The message reads "FILE: PROBLEM", e.g. "model.gguf: missing metadata key 'llama.block_count'".
 */
public class ModelFormatException extends ModelLoadException {
    public ModelFormatException(String source, String problem) {
        super(source, problem);
    }

    public ModelFormatException(String source, String problem, Throwable cause) {
        super(source, problem, cause);
    }
}
