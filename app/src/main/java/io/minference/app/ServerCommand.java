package io.minference.app;

import io.minference.app.server.ApiServer;
import io.minference.app.server.LlamaEngine;
import io.minference.app.server.ServerLimits;
import io.minference.app.server.ServerSettings;
import io.minference.config.ConfigOverrides;
import io.minference.config.Limits;
import io.minference.config.MinferenceConfig;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** What serve and demo share: loading the model, the server's flags, and running until Ctrl-C. */
abstract class ServerCommand extends CliCommand {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (or model: in --config); default: the"
                    + " tiny pass-key model that ships in models/.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "A tokenizer file overriding the model's own (needed beside llama2.c checkpoints).")
    Path tokenizer;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--patterns", paramLabel = "FILE",
            description = "Per-head patterns for requests in minference mode: the project's YAML or MInference's JSON"
                    + " (docs/sparse-attention.md); default: every head vertical-slash 1000/6096.")
    Path patterns;

    @Option(names = "--host", paramLabel = "ADDRESS",
            description = "Address to listen on (default: 127.0.0.1, this machine only).")
    String host = ServerSettings.DEFAULT_HOST;

    @Option(names = "--port", paramLabel = "N", description = "Port to listen on; 0 takes any free port (default: 8080).")
    int port = 8080;

    @Option(names = "--max-body", paramLabel = "BYTES",
            description = "Largest request body accepted, in bytes (default: 16 MiB).")
    int maxBody = ServerSettings.DEFAULT_MAX_BODY_BYTES;

    @Option(names = "--queue", paramLabel = "N",
            description = "Requests that may wait while one generation runs; more get a 503 (default: 8).")
    int queue = ServerSettings.DEFAULT_QUEUE_CAPACITY;

    @Option(names = "--request-timeout", paramLabel = "SECONDS",
            description = "A request's deadline, queueing included; past it the generation stops (default: 600).")
    long requestTimeoutSeconds = ServerLimits.DEFAULT_REQUEST_TIMEOUT.toSeconds();

    @Option(names = "--max-tokens-limit", paramLabel = "N",
            description = "Largest max_tokens a request may ask; above it, a 400 (default: 4096).")
    int maxTokensLimit = ServerLimits.DEFAULT_MAX_TOKENS_LIMIT;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS",
            description = "How long a connection may send or read nothing (slow headers or body, a client that does"
                    + " not read its stream) before it is closed (default: 30).")
    long idleTimeoutSeconds = ServerLimits.DEFAULT_IDLE_TIMEOUT.toSeconds();

    @Option(names = "--max-connections", paramLabel = "N",
            description = "Open connections at most; beyond, new ones wait in the system's accept queue (default:"
                    + " 256).")
    int maxConnections = ServerLimits.DEFAULT_MAX_CONNECTIONS;

    /** The demo page is served besides the API. */
    abstract boolean demoPage();

    /** The folder whose texts the demo may read, or null. */
    abstract Path filesFolder();

    @Override
    int run() throws Exception {
        check("--port", port, p -> p >= 0 && p <= 65535 ? Optional.empty()
                : Optional.of("must be from 0 to 65535, got " + p));
        check("--max-body", (long) maxBody, atLeast(1, "bytes"));
        check("--queue", (long) queue, atLeast(0, "requests"));
        check("--request-timeout", requestTimeoutSeconds, atLeast(1, "seconds"));
        check("--max-tokens-limit", (long) maxTokensLimit, atLeast(1, "tokens"));
        check("--idle-timeout", idleTimeoutSeconds, atLeast(1, "seconds"));
        check("--max-connections", (long) maxConnections, atLeast(1, "connections"));
        check("--device", device, Limits::device);
        MinferenceConfig settings = settings(overrides(model));
        if (settings.model() == null) {
            // Neither --model nor the config file names one: the tiny pass-key model that ships with the project.
            Path shipped = ShippedDefaults.model().orElseThrow(() -> missing("'--model=PATH' (or model: in the"
                    + " --config file; the default " + ShippedDefaults.MODEL + " is not in this installation)"));
            err().println("minference: no --model given: using the shipped tiny pass-key model " + shipped);
            err().flush();
            settings = settings(overrides(shipped.toString()));
        }
        Inputs.requireModel(settings.model());
        if (settings.tokenizer() != null) Inputs.requireFile(settings.tokenizer(), "tokenizer file");
        Path patternFile = patterns != null ? patterns : settings.attention().patterns();
        Inputs.requirePatterns(patternFile);
        Path folder = filesFolder();
        if (folder != null && !Files.isDirectory(folder)) {
            throw new IOException("files folder not found (or not a directory): " + folder);
        }

        LlamaSession session;
        AttentionPlan plan = AttentionPlan.dense().withKvCache(settings.kvCache())
                .withKvOffload(settings.kvOffload());
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal())) {
            session = LlamaSession.load(settings.model(), settings.tokenizer(), settings.device(), config -> plan,
                    settings.prefill().blockSize(), progress);
        }
        LlamaEngine engine;
        try {
            engine = new LlamaEngine(session, modelId(settings.model()), patternFile);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
        ApiServer server;
        try {
            ServerLimits limits = ServerLimits.DEFAULTS.withRequestTimeout(Duration.ofSeconds(requestTimeoutSeconds))
                    .withMaxTokensLimit(maxTokensLimit).withIdleTimeout(Duration.ofSeconds(idleTimeoutSeconds))
                    .withMaxConnections(maxConnections);
            server = ApiServer.start(engine, new ServerSettings(host, port, maxBody, queue, demoPage(), folder,
                    limits));
        } catch (IOException | RuntimeException e) {
            engine.close();
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        PrintWriter out = out();
        out.println((demoPage() ? "demo page and API" : "OpenAI-compatible API") + " at " + server.uri()
                + " (model " + engine.model().id() + ", backend " + engine.device() + "); Ctrl-C stops");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            engine.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }

    private ConfigOverrides overrides(String modelFlag) {
        return ConfigOverrides.NONE.withModel(modelFlag, tokenizer).withDevice(device);
    }

    private static Function<Long, Optional<String>> atLeast(long min, String unit) {
        return v -> v >= min ? Optional.empty() : Optional.of("must be at least " + min + " " + unit + ", got " + v);
    }

    /** The name clients pass as "model": the file name, or synthetic:NAME as given. */
    static String modelId(String model) {
        if (model.startsWith(ModelLoader.SYNTHETIC_PREFIX)) return model;
        Path file = Path.of(model).getFileName();
        return file == null ? model : file.toString();
    }
}
