package io.minference.llama.load;

/**
 * A model that cannot be loaded: the file is missing, is a directory or cannot be read, or a llama2.c checkpoint's
 * tokenizer cannot be found. The message starts with the model's name and says what to do where it can.
 */
public class ModelLoadException extends RuntimeException {
    private final String source;

    public ModelLoadException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
    }

    public ModelLoadException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
    }

    /** The file (or synthetic:NAME) the problem is in. */
    public String source() {
        return source;
    }
}
