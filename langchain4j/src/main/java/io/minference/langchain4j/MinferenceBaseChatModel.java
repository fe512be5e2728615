package io.minference.langchain4j;

import static dev.langchain4j.internal.Utils.getOrDefault;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.ChatRequestValidationUtils;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.minference.llama.forward.LlamaForward;
import io.minference.llama.generate.GenerationResult;
import io.minference.llama.generate.SamplingOptions;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.AttentionPlan;
import io.minference.llama.session.GenerationListener;
import io.minference.llama.session.GenerationRequest;
import io.minference.llama.session.LlamaSession;
import io.minference.llama.tokenizer.ChatTemplate;
import io.minference.runtime.ProgressListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * What the blocking and the streaming chat model share: the session they run on, their default parameters, and the
 * translation of a LangChain4j request into a generation and of its result into a response. One generation runs at a
 * time per model (a session is not for concurrent use), so concurrent callers wait their turn.
 */
abstract class MinferenceBaseChatModel implements AutoCloseable {
    /** Generated tokens at most when neither the model nor the request says. */
    static final int DEFAULT_MAX_OUTPUT_TOKENS = 256;

    private final LlamaSession session;
    private final boolean ownsSession;
    private final MinferenceChatRequestParameters defaultRequestParameters;
    private final List<ChatModelListener> listeners;

    MinferenceBaseChatModel(Builder<?, ?> builder) {
        if ((builder.session == null) == (builder.modelPath == null)) {
            throw new IllegalArgumentException("give either session or modelPath (exactly one)");
        }
        String source = builder.session != null ? builder.session.source() : builder.modelPath.toString();
        ChatRequestParameters common = getOrDefault(builder.defaultRequestParameters,
                MinferenceChatRequestParameters.EMPTY);
        Long seed = common instanceof MinferenceChatRequestParameters own ? own.seed() : null;
        this.defaultRequestParameters = MinferenceChatRequestParameters.builder()
                .overrideWith(common)
                .modelName(getOrDefault(builder.modelName, getOrDefault(common.modelName(), fileName(source))))
                .temperature(getOrDefault(builder.temperature, getOrDefault(common.temperature(), 0.0)))
                .topP(getOrDefault(builder.topP, getOrDefault(common.topP(), 1.0)))
                .maxOutputTokens(getOrDefault(builder.maxOutputTokens,
                        getOrDefault(common.maxOutputTokens(), DEFAULT_MAX_OUTPUT_TOKENS)))
                .stopSequences(getOrDefault(builder.stopSequences, common.stopSequences()))
                .seed(getOrDefault(builder.seed, seed))
                .build();
        validate(defaultRequestParameters);
        this.listeners = List.copyOf(getOrDefault(builder.listeners, List.of()));
        if (builder.session != null) {
            this.session = builder.session;
            this.ownsSession = false;
        } else {
            AttentionPlan plan = getOrDefault(builder.attention, AttentionPlan.dense());
            this.session = LlamaSession.load(source, null, getOrDefault(builder.device, "auto"), config -> plan,
                    LlamaForward.DEFAULT_BLOCK_SIZE, ProgressListener.NONE);
            this.ownsSession = true;
        }
        if (session.tokenizer() == null) {
            close();
            throw new IllegalArgumentException(source + " has no tokenizer; a chat model needs one");
        }
    }

    /** A model file's name, or synthetic:NAME as given. */
    private static String fileName(String source) {
        if (source.startsWith(ModelLoader.SYNTHETIC_PREFIX)) return source;
        Path file = Path.of(source).getFileName();
        return file == null ? source : file.toString();
    }

    /** The parameters every request starts from: the builder's, then LangChain4j's defaults, then ours. */
    public MinferenceChatRequestParameters defaultRequestParameters() {
        return defaultRequestParameters;
    }

    public List<ChatModelListener> listeners() {
        return listeners;
    }

    /** The session the model runs on. */
    public LlamaSession session() {
        return session;
    }

    /** Runs the request, streaming each piece of released text to {@code listener}; the request is already merged. */
    ChatResponse generate(ChatRequest request, GenerationListener listener) {
        ChatRequestValidationUtils.validateMessages(request.messages());
        ChatRequestParameters parameters = request.parameters();
        validate(parameters);
        String name = defaultRequestParameters.modelName();
        if (parameters.modelName() != null && !parameters.modelName().equals(name)) {
            throw new IllegalArgumentException("this chat model runs " + name + "; the request asks for "
                    + parameters.modelName());
        }
        int[] prompt = ChatTemplate.encode(session.tokenizer(), conversation(request.messages()));
        long seed = parameters instanceof MinferenceChatRequestParameters own && own.seed() != null ? own.seed() : 0L;
        SamplingOptions sampling = new SamplingOptions(getOrDefault(parameters.temperature(), 0.0).floatValue(),
                getOrDefault(parameters.topP(), 1.0).floatValue(), seed);
        GenerationRequest generation = GenerationRequest.of(getOrDefault(parameters.maxOutputTokens(),
                DEFAULT_MAX_OUTPUT_TOKENS)).withSampling(sampling).withStop(parameters.stopSequences());
        GenerationResult result;
        synchronized (session) {
            result = session.generate(prompt, generation, listener);
        }
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(result.text()))
                .metadata(ChatResponseMetadata.builder()
                        .id(UUID.randomUUID().toString())
                        .modelName(parameters.modelName())
                        .tokenUsage(new TokenUsage(result.promptTokens(), result.generated().length))
                        .finishReason(finishReason(result.stopReason()))
                        .build())
                .build();
    }

    /** An end-of-sequence token or a stop sequence ends an answer; max tokens or a full context cut it. */
    static FinishReason finishReason(String stopReason) {
        return switch (stopReason) {
            case "eos", "stop" -> FinishReason.STOP;
            case "length", "context" -> FinishReason.LENGTH;
            default -> FinishReason.OTHER;
        };
    }

    private static List<ChatTemplate.ChatMessage> conversation(List<ChatMessage> messages) {
        List<ChatTemplate.ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            out.add(switch (message) {
                case SystemMessage m -> new ChatTemplate.ChatMessage("system", m.text());
                case UserMessage m -> new ChatTemplate.ChatMessage("user", m.singleText());
                case AiMessage m when !m.hasToolExecutionRequests() && m.text() != null ->
                        new ChatTemplate.ChatMessage("assistant", m.text());
                default -> throw new UnsupportedFeatureException(message.type() + " messages (tool calls and their"
                        + " results) are not supported by minference models");
            });
        }
        return out;
    }

    /** What a local model without tools cannot honour is refused, never ignored. */
    static void validate(ChatRequestParameters parameters) {
        ChatRequestValidationUtils.validate(parameters.toolSpecifications());
        ChatRequestValidationUtils.validate(parameters.toolChoice());
        ChatRequestValidationUtils.validate(parameters.responseFormat());
        refuse(parameters.topK(), "topK");
        refuse(parameters.frequencyPenalty(), "frequencyPenalty");
        refuse(parameters.presencePenalty(), "presencePenalty");
        if (parameters.temperature() != null && !(parameters.temperature() >= 0)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + parameters.temperature());
        }
        if (parameters.topP() != null && !(parameters.topP() > 0 && parameters.topP() <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + parameters.topP());
        }
        if (parameters.maxOutputTokens() != null && parameters.maxOutputTokens() < 1) {
            throw new IllegalArgumentException("maxOutputTokens must be >= 1, got " + parameters.maxOutputTokens());
        }
    }

    private static void refuse(Object value, String name) {
        if (value != null) {
            throw new UnsupportedFeatureException("'" + name + "' parameter is not supported by minference models");
        }
    }

    /** Closes the session where the model loaded it (built with modelPath); a given session stays its owner's. */
    @Override
    public void close() {
        if (ownsSession) session.close();
    }

    /**
     * The settings both models take: where the model comes from (an open {@link LlamaSession}, or a model file with
     * a device and an attention plan), and the default request parameters.
     */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<C extends MinferenceBaseChatModel, B extends Builder<C, B>> {
        private LlamaSession session;
        private Path modelPath;
        private String device;
        private AttentionPlan attention;
        private String modelName;
        private Double temperature;
        private Double topP;
        private Integer maxOutputTokens;
        private List<String> stopSequences;
        private Long seed;
        private ChatRequestParameters defaultRequestParameters;
        private List<ChatModelListener> listeners;

        protected B self() {
            return (B) this;
        }

        /** An open session to run on; it stays the caller's to close. */
        public B session(LlamaSession session) {
            this.session = session;
            return self();
        }

        /** A model file (.gguf, llama2.c) or synthetic:NAME to load; the chat model closes what it loaded. */
        public B modelPath(Path modelPath) {
            this.modelPath = modelPath;
            return self();
        }

        /** With {@link #modelPath}: "auto" (default), "cpu", "cuda" or "cuda:N". */
        public B device(String device) {
            this.device = device;
            return self();
        }

        /** With {@link #modelPath}: the prefill's attention plan (default dense). */
        public B attention(AttentionPlan attention) {
            this.attention = attention;
            return self();
        }

        /** The name reported in responses (default: the model's file name). */
        public B modelName(String modelName) {
            this.modelName = modelName;
            return self();
        }

        /** 0 (the default) is greedy. */
        public B temperature(Double temperature) {
            this.temperature = temperature;
            return self();
        }

        public B topP(Double topP) {
            this.topP = topP;
            return self();
        }

        public B maxOutputTokens(Integer maxOutputTokens) {
            this.maxOutputTokens = maxOutputTokens;
            return self();
        }

        public B stopSequences(List<String> stopSequences) {
            this.stopSequences = stopSequences;
            return self();
        }

        public B seed(Long seed) {
            this.seed = seed;
            return self();
        }

        public B defaultRequestParameters(ChatRequestParameters defaultRequestParameters) {
            this.defaultRequestParameters = defaultRequestParameters;
            return self();
        }

        public B listeners(List<ChatModelListener> listeners) {
            this.listeners = listeners;
            return self();
        }

        public abstract C build();
    }
}
