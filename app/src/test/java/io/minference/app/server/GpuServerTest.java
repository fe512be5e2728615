package io.minference.app.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.PrefillConfig;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The server on the GPU: requests arrive on virtual threads, and every generation runs on the gate's one platform
 * thread, where the CUDA context stays current. Several clients at once, each mode, all give the golden
 * continuation of the tiny pass-key model, with the GPU's energy (NVML) in each reply's figures.
 */
@Tag("gpu")
class GpuServerTest {
    private static final String PROMPT = "Call me Ishmael. Some years ago, never mind how long precisely";
    private static final String GOLDEN = ", the average of the other people, the best thing is to do.";

    @Test
    void concurrentClientsGetTheGoldenContinuationInEveryMode() throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        // the F16 model, whose greedy text is the golden one, or its shipped Q8_0 twin (the GPU bundle's), whose text
        // parts from it after a dozen tokens: then every concurrent reply must equal the one a lone request got
        Path model = PasskeyPrompt.modelFile().orElse(null);
        assumeTrue(model != null, "the shared tiny pass-key model is absent");
        LlamaEngine engine = new LlamaEngine(LlamaSession.openOwning(ModelLoader.load(model.toString(), null,
                ProgressListener.NONE), "cuda:0", AttentionPlan.dense(), PrefillConfig.DEFAULTS.blockSize()), "tiny");
        try (engine; ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 16, 16,
                false, null)); ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = Http.of(server);
            boolean golden = model.getFileName().toString().contains("f16");
            String alone = http.post("/v1/completions", body("dense")).json().get("choices").get(0).get("text")
                    .asText();
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (String mode : List.of("dense", "minference", "a-shape")) {
                    replies.add(clients.submit(() -> http.post("/v1/completions", body(mode))));
                }
            }
            for (Future<Http.Reply> future : replies) {
                Http.Reply reply = future.get();
                assertEquals(200, reply.status(), reply.body());
                String text = reply.json().get("choices").get(0).get("text").asText();
                var figures = reply.json().path("minference");
                System.out.println("gpu server: '" + text + "'; energy " + figures.path("prefill_joules") + " J prefill, "
                        + figures.path("decode_joules_per_token") + " J/token" + figures.path("energy_unavailable"));
                // NVML measures (a decode too short for its counter is null), or one line says why not: never zeros
                boolean decodeMeasuredOrNull = figures.path("decode_mean_watts").isNull()
                        || figures.path("decode_mean_watts").asDouble() > 0;
                assertTrue(figures.path("prefill_joules").asDouble() > 0 && decodeMeasuredOrNull
                        || figures.path("energy_unavailable").asText().startsWith("energy: not measured ("),
                        figures::toString);
                assertTrue(golden ? text.startsWith(GOLDEN) : text.equals(alone), () -> text + " / alone: " + alone);
            }
        }
    }

    /** A greedy completion; the prompt is shorter than every pattern's window, so each mode computes all of it. */
    private static String body(String mode) {
        return "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": 24, \"temperature\": 0,"
                + " \"minference\": {\"attention\": \"" + mode + "\", \"sparse_threshold\": 0}}";
    }
}
