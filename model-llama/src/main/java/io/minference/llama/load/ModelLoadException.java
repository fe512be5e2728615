package io.minference.llama.load;

/**
 * A model that cannot be loaded: the file is missing, is a directory or cannot be read, or a llama2.c checkpoint's
 * tokenizer cannot be found. The message starts with the model's name and says what to do where it can.
 */
public class ModelLoadException extends RuntimeException {
    private final String source;
    private final String problem;

    public ModelLoadException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
        this.problem = problem;
    }

    public ModelLoadException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
        this.problem = problem;
    }

    /** The file (or synthetic:NAME) the problem is in. */
    public String source() {
        return source;
    }

    /** What is wrong, without the file's name. */
    public String problem() {
        return problem;
    }
}
