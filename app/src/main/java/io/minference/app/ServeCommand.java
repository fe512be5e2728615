package io.minference.app;

import java.nio.file.Path;
import picocli.CommandLine.Command;

/** The OpenAI-compatible server, without the demo page. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serves /v1/models, /v1/completions, /v1/chat/completions (with SSE streaming) and /health."
                + " The extension field \"minference\": {\"attention\": \"dense\"} picks the prefill attention per"
                + " request.")
final class ServeCommand extends ServerCommand {
    @Override
    boolean demoPage() {
        return false;
    }

    @Override
    Path filesFolder() {
        return null;
    }
}
