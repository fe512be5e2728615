package io.minference.app.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.config.PrefillConfig;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.LlamaSession;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
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
 * continuation of the tiny pass-key model.
 */
@Tag("gpu")
class GpuServerTest {
    private static final String PROMPT = "Call me Ishmael. Some years ago, never mind how long precisely";
    private static final String GOLDEN = ", the average of the other people, the best thing is to do.";

    @Test
    void concurrentClientsGetTheGoldenContinuationInEveryMode() throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        Path model = SharedData.file("models/tiny-passkey-llama-f16.gguf").orElse(null);
        assumeTrue(model != null, "the shared tiny pass-key model is absent");
        LlamaEngine engine = new LlamaEngine(LlamaSession.openOwning(ModelLoader.load(model.toString(), null,
                ProgressListener.NONE), "cuda:0", AttentionPlan.dense(), PrefillConfig.DEFAULTS.blockSize()), "tiny");
        try (engine; ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 16, 16,
                false, null)); ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            Http http = Http.of(server);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (String mode : List.of("dense", "minference", "a-shape")) {
                    String body = "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": 24, \"temperature\": 0,"
                            + " \"minference\": {\"attention\": \"" + mode + "\", \"sparse_threshold\": 0}}";
                    replies.add(clients.submit(() -> http.post("/v1/completions", body)));
                }
            }
            for (Future<Http.Reply> future : replies) {
                Http.Reply reply = future.get();
                assertEquals(200, reply.status(), reply.body());
                String text = reply.json().get("choices").get(0).get("text").asText();
                System.out.println("gpu server: '" + text + "'");
                assertTrue(text.startsWith(GOLDEN), text);
            }
        }
    }
}
