package io.minference.langchain4j;

import static dev.langchain4j.internal.Utils.getOrDefault;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import java.util.Objects;

/**
 * The common chat parameters plus minference's own: the sampler's {@code seed}, with which a sampled answer is
 * reproducible. Requests override the model's defaults field by field, as LangChain4j's parameters do.
 */
public class MinferenceChatRequestParameters extends DefaultChatRequestParameters {
    public static final MinferenceChatRequestParameters EMPTY = builder().build();

    private final Long seed;

    private MinferenceChatRequestParameters(Builder builder) {
        super(builder);
        this.seed = builder.seed;
    }

    public Long seed() {
        return seed;
    }

    @Override
    public MinferenceChatRequestParameters overrideWith(ChatRequestParameters that) {
        return builder().overrideWith(this).overrideWith(that).build();
    }

    @Override
    public MinferenceChatRequestParameters defaultedBy(ChatRequestParameters that) {
        return builder().overrideWith(that).overrideWith(this).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MinferenceChatRequestParameters that && super.equals(o) && Objects.equals(seed, that.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), seed);
    }

    @Override
    public String toString() {
        return "MinferenceChatRequestParameters{" + super.toString() + ", seed=" + seed + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    public static class Builder extends DefaultChatRequestParameters.Builder<Builder> {
        private Long seed;

        @Override
        public Builder overrideWith(ChatRequestParameters parameters) {
            super.overrideWith(parameters);
            if (parameters instanceof MinferenceChatRequestParameters own) seed(getOrDefault(own.seed, seed));
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        @Override
        public MinferenceChatRequestParameters build() {
            return new MinferenceChatRequestParameters(this);
        }
    }
}
