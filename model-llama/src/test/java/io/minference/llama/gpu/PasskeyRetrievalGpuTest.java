package io.minference.llama.gpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cuda.CudaAvailability;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaDriver;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The GPU path retrieves the pass key as the CPU path does, up to 16K tokens. */
@Tag("gpu")
class PasskeyRetrievalGpuTest {
    @ParameterizedTest
    @CsvSource({"1024, 0.1, 1", "4096, 0.5, 2", "16376, 0.5, 11", "16376, 0.9, 12"})
    void retrievesThePasskey(int length, double depth, long seed) throws Exception {
        CudaAvailability availability = CudaDriver.availability();
        assumeTrue(availability.available(), () -> "no usable CUDA device: " + availability.reason());
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CudaBackend gpu = CudaBackend.open(0)) {
            PasskeyPrompt prompt = PasskeyPrompt.build(model.tokenizer(), f[2], length, depth, seed);
            String answer = prompt.answer(model, gpu);
            System.out.printf("gpu %d tokens, depth %.1f: pass key %s, answer '%s'%n", length, depth, prompt.key(),
                    answer);
            assertTrue(prompt.isAnsweredBy(answer), () -> "expected an answer starting with " + prompt.key() + ", got '"
                    + answer + "'");
        }
    }
}
