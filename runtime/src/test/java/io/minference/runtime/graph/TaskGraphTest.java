package io.minference.runtime.graph;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaskGraphTest {

    @Test
    void aSnapshotKeepsTheTasksItWasTakenWith() {
        TaskGraph graph = new TaskGraph("layer").task("first", stream -> { }).task("second", stream -> { });
        ImmutableTaskGraph snapshot = graph.snapshot();
        graph.task("third", stream -> { });
        assertEquals(List.of("first", "second"), snapshot.taskNames());
        assertEquals(List.of("first", "second", "third"), graph.snapshot().taskNames());
        assertThrows(UnsupportedOperationException.class, () -> snapshot.tasks().clear());
    }

    @Test
    void taskNamesAreUnique() {
        TaskGraph graph = new TaskGraph("layer").task("qkv", stream -> { });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> graph.task("qkv", s -> { }));
        assertTrue(e.getMessage().contains("'qkv'"), e.getMessage());
    }

    @Test
    void anEmptyGraphCannotBeSnapshot() {
        assertThrows(IllegalStateException.class, () -> new TaskGraph("nothing").snapshot());
    }
}
