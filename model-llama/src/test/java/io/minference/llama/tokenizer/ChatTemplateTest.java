package io.minference.llama.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.tokenizer.ChatTemplate.ChatMessage;
import io.minference.runtime.SharedData;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static final List<ChatMessage> CONVERSATION = List.of(new ChatMessage("system", "Be brief."),
            new ChatMessage("user", " Hi "));

    private static Tokenizer shared(String file) {
        Optional<Path> path = SharedData.file(file);
        assumeTrue(path.isPresent(), file + " is not in ../shared/data");
        return BpeTokenizer.fromTokenizerJson(path.get());
    }

    @Test
    void llama3GetsItsTemplateForWholeConversations() {
        Tokenizer llama3 = shared("tokenizers/llama3-tokenizer.json");
        assertArrayEquals(llama3.encodeChat("Hello there"),
                ChatTemplate.encode(llama3, List.of(new ChatMessage("user", "Hello there"))));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                llama3.decode(ChatTemplate.encode(llama3, CONVERSATION)));
    }

    @Test
    void aModelWithoutAChatTemplateGetsTheTextsSeparatedByBlankLines() {
        Tokenizer passkey = shared("models/tiny-passkey-llama-tokenizer.json");
        int[] expected = ChatTemplate.withBos(passkey.bos(), passkey.encode("Be brief.\n\n Hi "));
        assertArrayEquals(expected, ChatTemplate.encode(passkey, CONVERSATION));
        assertArrayEquals(ChatTemplate.withBos(passkey.bos(), passkey.encode("Hello")),
                ChatTemplate.encode(passkey, List.of(new ChatMessage("user", "Hello"))));
    }

    @Test
    void theByteTokenizerTakesOneUserTurnAsItsBytes() {
        Tokenizer bytes = new ByteTokenizer();
        assertArrayEquals(bytes.encodeChat("Hi"), ChatTemplate.encode(bytes, List.of(new ChatMessage("user", "Hi"))));
        assertArrayEquals(ChatTemplate.withBos(bytes.bos(), bytes.encode("Be brief.\n\n Hi ")),
                ChatTemplate.encode(bytes, CONVERSATION));
    }
}
