package io.minference.app.server;

import java.util.List;

/** A prompt as the API receives it: raw text (completions) or chat messages (chat completions). */
public sealed interface EnginePrompt {
    /** Text continued as is; BOS is added in front. */
    record Text(String text) implements EnginePrompt {
    }

    /** Messages put into the model's chat template. */
    record Chat(List<ChatMessage> messages) implements EnginePrompt {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /** @param role system, user or assistant */
    record ChatMessage(String role, String content) {
    }
}
