package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.ConfigOverrides;
import io.minference.config.GenerationConfig;
import io.minference.config.KvCacheType;
import io.minference.config.KvOffload;
import io.minference.config.Limits;
import io.minference.config.MinferenceConfig;
import io.minference.llama.LlamaModel;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.generate.SparsePrefill;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.session.TokenLogprobs;
import io.minference.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Continues a prompt: the generated text on stdout as it is produced, the timings on stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generates text from a prompt. Only the generated text goes to stdout; timings go to stderr.")
final class GenerateCommand extends CliCommand {

    @Option(names = "--model", paramLabel = "PATH",
            description = "A .gguf file, a llama2.c checkpoint or synthetic:NAME (or model: in --config).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "A tokenizer file overriding the model's own (needed beside llama2.c checkpoints).")
    Path tokenizer;

    @ArgGroup(multiplicity = "1")
    PromptSource prompt;

    static final class PromptSource {
        @Option(names = "--prompt", paramLabel = "TEXT", required = true, description = "The prompt.")
        String text;

        @Option(names = "--prompt-file", paramLabel = "PATH", required = true,
                description = "A UTF-8 file holding the prompt, plain or compressed (gzip, bzip2, xz).")
        Path file;
    }

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Generated tokens at most, the prompt excluded (default: 256).")
    Integer maxTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature; 0 is greedy (default).")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass in (0, 1] (default: 1, off).")
    Double topP;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the sampler (default: 0).")
    Long seed;

    @Option(names = "--chat", negatable = true,
            description = "Wrap the prompt in the model's chat template (a single user turn).")
    Boolean chat;

    @Option(names = "--device", paramLabel = "D", description = "auto (default), cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--attention", paramLabel = "MODE", converter = AttentionFlags.Mode.class,
            description = "Prefill attention of long prompts: dense (default), minference, a-shape, vertical-slash or"
                    + " block-sparse.")
    AttentionMode attention;

    @Mixin
    AttentionFlags sparse;

    @Option(names = "--kv-cache", paramLabel = "TYPE", converter = KvCacheFlag.class,
            description = "KV cache kept for decode: " + KvCacheFlag.CHOICES + ". The prompt's own attention stays"
                    + " full precision.")
    KvCacheType kvCache;

    @Option(names = "--kv-offload", paramLabel = "WHERE", converter = KvOffloadFlag.class,
            description = "GPU only: none (default) or host, every layer's KV cache in pinned host memory, two"
                    + " layers at a time on the device (copied in during decode, overlapping the layer before).")
    KvOffload kvOffload;

    @Override
    int run() throws IOException {
        check("--max-tokens", maxTokens, n -> Limits.maxTokens(n));
        check("--temperature", temperature, Limits::temperature);
        check("--top-p", topP, Limits::topP);
        check("--device", device, Limits::device);
        sparse.check(this);
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer).withDevice(device)
                .withSampling(maxTokens, temperature, topP, seed, chat)
                .withAttention(attention, sparse.patterns, sparse.sparseThreshold, sparse.massBudget())
                .withKvCache(kvCache).withKvOffload(kvOffload));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        if (settings.tokenizer() != null) Inputs.requireFile(settings.tokenizer(), "tokenizer file");
        Inputs.requirePatterns(settings.attention());
        String promptText = prompt.text != null ? prompt.text : PromptFiles.read(prompt.file);

        GenerationConfig generation = settings.generation();
        var sampling = new SamplingOptions((float) generation.temperature(), (float) generation.topP(),
                generation.seed());
        try (ProgressBar progress = new ProgressBar(err(), stderrIsTerminal());
             LlamaModel loaded = ModelLoader.load(settings.model(), settings.tokenizer(), progress);
             LlamaSession session = LlamaSession.open(loaded, settings.device(), AttentionPlan.of(
                     settings.attention(), loaded.config(), SparsePrefill.registeredPatterns())
                     .withKvCache(settings.kvCache()).withKvOffload(settings.kvOffload()),
                     settings.prefill().blockSize())) {
            Tokenizer modelTokenizer = loaded.tokenizer();
            int[] promptIds = generation.chat() ? modelTokenizer.encodeChat(promptText)
                    : withBos(modelTokenizer.bos(), modelTokenizer.encode(promptText));
            PrintWriter out = out();
            GenerationResult result = session.generate(promptIds,
                    GenerationRequest.of(generation.maxTokens()).withSampling(sampling), new GenerationListener() {
                        @Override
                        public void progress(String stage, long done, long total) {
                            progress.progress(stage, done, total);
                        }

                        @Override
                        public void token(int token, String text, TokenLogprobs logprobs) {
                            out.print(text);
                            out.flush();
                        }

                        @Override
                        public void finish(String text) {
                            out.print(text);
                        }
                    });
            out.println();
            out.flush();
            printTimings(result);
            printAttention(result, settings.attention().mode(), settings.attention().sparseThreshold());
        }
        return 0;
    }

    private static int[] withBos(int bos, int[] ids) {
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    private void printAttention(GenerationResult r, AttentionMode mode, int threshold) {
        String line = r.sparse() ? "attention: " + r.attention() + " (sparse prefill, computing "
                + AttentionTable.kept(r.density()) + " of the causal area)"
                : mode.sparse() ? String.format(Locale.ROOT, "attention: dense (the prompt's %d tokens are below the"
                + " sparse threshold of %d)", r.promptTokens(), threshold)
                : "attention: dense";
        err().println(line);
        err().flush();
    }

    private void printTimings(GenerationResult r) {
        PrintWriter err = err();
        err.println(String.format(Locale.ROOT, "prompt: %d tokens, prefill %.3f s (%.1f tokens/s)",
                r.promptTokens(), r.prefillNanos() / 1e9, r.prefillTokensPerSecond()));
        err.println(String.format(Locale.ROOT, "generated: %d tokens, decode %.3f s (%.1f tokens/s), stopped by %s",
                r.generated().length, r.decodeNanos() / 1e9, r.decodeTokensPerSecond(), r.stopReason()));
        err.flush();
    }
}
