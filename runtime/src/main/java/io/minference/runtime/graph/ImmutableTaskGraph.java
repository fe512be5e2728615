package io.minference.runtime.graph;

import java.util.List;

/** A frozen {@link TaskGraph}: its name and its tasks in order. */
public record ImmutableTaskGraph(String name, List<Task> tasks) {
    public ImmutableTaskGraph {
        tasks = List.copyOf(tasks);
    }

    public List<String> taskNames() {
        return tasks.stream().map(Task::name).toList();
    }
}
