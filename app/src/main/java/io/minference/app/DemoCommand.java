package io.minference.app;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The web demo of dense against sparse prefill, with the OpenAI-compatible API beside it. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Serves a web page that runs a long prompt with dense attention and with MInference side by"
                + " side, plus the OpenAI-compatible API. Open the printed address in a browser.")
final class DemoCommand extends ServerCommand {
    @Option(names = "--files", paramLabel = "DIR",
            description = "A folder of UTF-8 texts (plain, gzip, bzip2 or xz) the page may use as haystack filler;"
                    + " nothing outside it is read (default: the shipped texts/ folder, a Moby-Dick excerpt).")
    Path files;

    @Override
    boolean demoPage() {
        return true;
    }

    @Override
    Path filesFolder() {
        return files != null ? files : ShippedDefaults.texts().orElse(null);
    }
}
