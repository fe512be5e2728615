package io.minference.app.server;

import java.util.Optional;

/**
 * What the server asks of a model: its description, a generation, and the sparse pattern of one head. One
 * generation runs at a time; the server's {@link GenerationGate} sees to that.
 */
public interface TextEngine extends AutoCloseable {

    ModelCard model();

    /** The length of {@code text} in the model's tokens, BOS not included. */
    int tokenCount(String text);

    /**
     * Runs one generation, passing text to {@code sink} as it is produced.
     *
     * @throws ApiException                 for a request this engine refuses (a prompt longer than the context, an
     *                                      attention mode this build cannot run): a 4xx
     * @throws GenerationCancelledException when {@code cancellation} said so between two tokens or prefill blocks
     */
    Completion generate(EnginePrompt prompt, GenerationRequest request, TokenSink sink, Cancellation cancellation);

    /**
     * Which keys one head keeps for this prompt under the given attention mode, or empty when this build cannot
     * say (the page then shows "pattern not available").
     *
     * @throws ApiException                 400 for a prompt longer than the context, a layer or head out of range
     * @throws GenerationCancelledException when {@code cancellation} said so between two prefill blocks or layers
     */
    Optional<PatternPicture> patternPicture(EnginePrompt prompt, String attention, int layer, int head,
                                            Cancellation cancellation);

    @Override
    void close();
}
