package io.minference.app.server;

import java.util.List;

/**
 * The model as /v1/models and the demo page describe it.
 *
 * @param id             the name clients pass as "model"
 * @param contextLength  tokens of prompt and answer together, at most
 * @param attentionModes every mode a request may name; those this build can run are in {@code availableModes}
 */
public record ModelCard(String id, int contextLength, int layers, int heads, List<String> attentionModes,
                        List<String> availableModes) {
    public ModelCard {
        attentionModes = List.copyOf(attentionModes);
        availableModes = List.copyOf(availableModes);
    }
}
