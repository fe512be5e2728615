package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.LlamaModel;
import io.minference.llama.load.ModelLoader;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.cpu.CpuBackend;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The CPU path retrieves the pass key from a 16K-token prompt, the longest the tiny model was trained on. */
class PasskeyRetrievalCpuTest {
    @Test
    void retrievesThePasskeyAt16kTokens() throws Exception {
        var files = PasskeyPrompt.files();
        assumeTrue(files.isPresent(), "shared data for the pass-key task is absent");
        Path[] f = files.get();
        try (LlamaModel model = ModelLoader.load(f[0].toString(), f[1], ProgressListener.NONE);
             CpuBackend cpu = new CpuBackend()) {
            PasskeyPrompt prompt = PasskeyPrompt.build(model.tokenizer(), f[2], 16384 - 8, 0.5, 11);
            String answer = prompt.answer(model, cpu);
            System.out.println("cpu pass key " + prompt.key() + ", answer '" + answer + "'");
            assertTrue(prompt.isAnsweredBy(answer), () -> "expected an answer starting with " + prompt.key() + ", got '"
                    + answer + "'");
        }
    }
}
