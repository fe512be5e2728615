package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.tokenizer.BpeTokenizer;
import io.minference.llama.tokenizer.Tokenizer;
import io.minference.runtime.SharedData;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Prefill scoring of the pass-key task: the answer's tokens, the key's positions among them, the score. */
class PasskeyPromptTest {
    private static Tokenizer tokenizer() {
        Optional<Path> file = SharedData.file(PasskeyPrompt.TOKENIZER);
        assumeTrue(file.isPresent(), "shared data " + PasskeyPrompt.TOKENIZER + " is absent");
        return BpeTokenizer.fromTokenizerJson(file.get());
    }

    @Test
    void theAnswerIsScoredAfterThePromptAndTheKeyIsItsDigitTokens() {
        Tokenizer tokenizer = tokenizer();
        PasskeyPrompt prompt = PasskeyPrompt.build(tokenizer, PasskeyPrompt.filler(20000), 1024, 0.1, 7);
        int[] answer = prompt.answerTokens(tokenizer);
        assertEquals(" " + prompt.key() + ".", tokenizer.decode(answer));
        int[] keyTokens = prompt.keyTokens(tokenizer, answer);
        // the key's tokens spell the key and nothing else (the pre-tokenizer keeps digits apart from the space and
        // the period; this small vocabulary then has a token per digit)
        StringBuilder digits = new StringBuilder();
        for (int j : keyTokens) digits.append(tokenizer.decode(new int[] {answer[j]}));
        assertEquals(prompt.key(), digits.toString().strip(), Arrays.toString(keyTokens));
        assertEquals(digits.toString(), prompt.key(), "neither the space nor the period counts");

        int[] sequence = prompt.scoredSequence(answer);
        assertEquals(prompt.ids().length + answer.length - 1, sequence.length);
        assertArrayEquals(prompt.ids(), Arrays.copyOf(sequence, prompt.ids().length));
        // the last answer.length positions predict the answer: the prompt's last token predicts its first
        for (int j = 1; j < answer.length; j++) assertEquals(answer[j - 1], sequence[prompt.ids().length + j - 1]);
    }

    @Test
    void scoreNeedsTheGreedyTokenAtEveryKeyPosition() {
        int[] answer = {5, 9, 2, 7};
        int[] key = {1, 2};
        float[][] logits = new float[4][10];
        for (int j = 0; j < 4; j++) logits[j][answer[j]] = 3;
        logits[0][4] = 10;                                         // the space is not the key: ignored
        PasskeyPrompt.PrefillScore right = PasskeyPrompt.score(logits, answer, key, 0.5);
        assertTrue(right.retrieved());
        double perToken = 3 - Math.log(Math.exp(3) + 9);
        assertEquals(2 * perToken, right.keyLogLikelihood(), 1e-9);
        logits[2][3] = 4;                                          // the second key token loses its place
        PasskeyPrompt.PrefillScore wrong = PasskeyPrompt.score(logits, answer, key, 0.5);
        assertFalse(wrong.retrieved());
        assertTrue(wrong.keyLogLikelihood() < right.keyLogLikelihood());
    }
}
