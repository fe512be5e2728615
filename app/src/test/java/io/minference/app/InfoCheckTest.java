package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.runtime.SharedData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** info --check finds what generate would stumble on: a NaN weight, named with the file and the tensor. */
class InfoCheckTest {

    @Test
    void aNanWeightFailsTheCheckNamingTheFileAndTheTensor(@TempDir Path dir) throws Exception {
        Path stories = SharedData.file("models/stories260K.bin").orElse(null);
        Path tokenizer = SharedData.file("models/tok512.bin").orElse(null);
        Assumptions.assumeTrue(stories != null && tokenizer != null, "the shared llama2.c sample is missing");
        Path model = Files.copy(stories, dir.resolve("stories260K.bin"));
        Files.copy(tokenizer, dir.resolve("tok512.bin"));

        CliRun clean = CliRun.of("info", "--check", "--model", model.toString());
        assertEquals(0, clean.exitCode(), clean.toString());
        assertTrue(clean.out().contains("every value finite"), clean.toString());

        // llama2.c: a header of 7 int32, then the token embedding's floats; element 100 becomes NaN.
        try (FileChannel file = FileChannel.open(model, StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN), 28 + 4 * 100);
        }
        assertEquals(0, CliRun.of("info", "--model", model.toString()).exitCode(), "without --check, no scan");
        CliRun nan = CliRun.of("info", "--check", "--model", model.toString());
        assertEquals(1, nan.exitCode(), nan.toString());
        String last = nan.errLines()[nan.errLines().length - 1];
        assertTrue(last.startsWith("minference: " + model + ": ") && last.contains("NaN")
                && last.contains("token embedding at element 100"), nan.toString());
    }
}
