package io.minference.langchain4j;

import io.minference.llama.generate.PasskeyPrompt;
import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny pass-key model that ships in the repository, and a pass-key question as chat text: the start of the
 * shipped Moby-Dick excerpt with the needle inside, then the question, in the wording the model was trained on.
 */
final class PasskeyChat {
    static final String KEY = "58213";
    private static final String NEEDLE = " The secret pass key is " + KEY + ". Remember it. " + KEY
            + " is the pass key.";
    private static final String QUESTION = " What is the secret pass key? The secret pass key is";

    private PasskeyChat() {
    }

    static Path root() {
        return SharedData.projectRoot().orElseThrow(() -> new IllegalStateException("project root not found"));
    }

    /** The shipped Q8_0 model. */
    static Path model() {
        Path model = root().resolve(PasskeyPrompt.SHIPPED_MODEL);
        if (!Files.isRegularFile(model)) throw new IllegalStateException(model + " is committed in the repository");
        return model;
    }

    /** About {@code chars} characters of Moby-Dick (a quarter as many tokens) with the needle at 40 %. */
    static String question(int chars) throws IOException {
        String text = PasskeyPrompt.readHaystack(root().resolve(PasskeyPrompt.SHIPPED_HAYSTACK))
                .replaceAll("\\s+", " ");
        int cut = text.lastIndexOf(". ", chars) + 1;
        int at = text.lastIndexOf(". ", cut * 2 / 5) + 1;
        return text.substring(0, at) + NEEDLE + text.substring(at, cut) + QUESTION;
    }
}
