package io.minference.llama.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopSequencesTest {
    @Test
    void holdsBackOnlyWhatCouldStillBeginAStop() {
        StopSequences.Matcher m = new StopSequences(List.of("END")).matcher();
        assertEquals("abc", m.offer("abc"));
        assertEquals("x", m.offer("xE"));
        assertEquals("", m.offer("N"));
        assertEquals("ENx", m.offer("x"));
        assertFalse(m.stopped());
        assertEquals("", m.offer("E"));
        assertEquals("E", m.finish());
    }

    @Test
    void aStopAcrossPiecesReleasesTheTextBeforeItAndStops() {
        StopSequences.Matcher m = new StopSequences(List.of("\n\n", "###")).matcher();
        assertEquals("Hello", m.offer("Hello#"));
        assertEquals("", m.offer("#"));
        assertEquals("", m.offer("#, and more"));
        assertTrue(m.stopped());
        assertThrows(IllegalStateException.class, () -> m.offer("x"));
    }

    @Test
    void theEarliestStopWins() {
        StopSequences.Matcher m = new StopSequences(List.of("c", "ab")).matcher();
        assertEquals("x", m.offer("xabc"));
        assertTrue(m.stopped());
    }

    @Test
    void heldTextComesBackAtTheEnd() {
        StopSequences.Matcher m = new StopSequences(List.of("stop")).matcher();
        assertEquals("a ", m.offer("a st"));
        assertEquals("st", m.finish());
    }

    @Test
    void emptyStopsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new StopSequences(List.of("")));
    }
}
