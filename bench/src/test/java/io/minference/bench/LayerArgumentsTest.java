package io.minference.bench;

import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import io.minference.sparse.config.PatternFileException;
import io.minference.sparse.config.PatternFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tile reports' arguments: a layer of a pattern file and lengths, each kind of bad input named. */
public class LayerArgumentsTest {
    @TempDir
    Path dir;

    private Path patterns() throws IOException {
        return twoLayers(dir);
    }

    /** A pattern file of two layers of four A-shape heads in {@code dir}, for the tests of layer arguments. */
    public static Path twoLayers(Path dir) throws IOException {
        Path file = dir.resolve("a-shape.yaml");
        PatternFiles.write(file, PatternPlan.uniform(2, 4, new HeadPattern.AShape(64, 256)), "two layers");
        return file;
    }

    @Test
    void aLayerAndLengthsOfAPatternFile() throws IOException {
        String file = patterns().toString();
        var arguments = SlashTilesReport.LayerArguments.parse("Report", new String[] {file, "1", "4096", "8192"},
                32768);
        assertEquals(4, arguments.patterns().size());
        assertArrayEquals(new int[] {4096, 8192}, arguments.lengths());
        assertArrayEquals(new int[] {32768}, SlashTilesReport.LayerArguments.parse("Report",
                new String[] {file, "0"}, 32768).lengths());
    }

    @Test
    void badInputIsAnErrorThatNamesIt() throws IOException {
        String file = patterns().toString();
        assertEquals("usage: Report PATTERN_FILE LAYER [length...]", assertThrows(IllegalArgumentException.class,
                () -> SlashTilesReport.LayerArguments.parse("Report", new String[] {file})).getMessage());
        assertEquals("LAYER must be a whole number, not 'twenty'", assertThrows(IllegalArgumentException.class,
                () -> SlashTilesReport.LayerArguments.parse("Report", new String[] {file, "twenty"})).getMessage());
        assertEquals("a length must be a whole number, not '128k'", assertThrows(IllegalArgumentException.class,
                () -> SlashTilesReport.LayerArguments.parse("Report", new String[] {file, "0", "128k"}))
                .getMessage());
        assertEquals(file + " has layers 0 to 1, not 2", assertThrows(IllegalArgumentException.class,
                () -> SlashTilesReport.LayerArguments.parse("Report", new String[] {file, "2"})).getMessage());
        String missing = dir.resolve("absent.json").toString();
        var e = assertThrows(PatternFileException.class,
                () -> SlashTilesReport.LayerArguments.parse("Report", new String[] {missing, "0"}));
        assertTrue(e.getMessage().startsWith(missing), e.getMessage());
    }
}
