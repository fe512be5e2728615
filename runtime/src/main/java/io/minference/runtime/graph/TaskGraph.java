package io.minference.runtime.graph;

import io.minference.runtime.cuda.CublasLtGemm;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.PinnedHostBuffer;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A mutable list of named tasks (transfers, kernel launches, copies, GEMMs) over the data they read and write, in
 * the order they run; {@link #snapshot()} freezes it into an {@link ImmutableTaskGraph} that an
 * {@link ExecutionPlan} runs. (The vocabulary is TornadoVM's.)
 */
public final class TaskGraph {
    private final String name;
    private final List<Task> tasks = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    public TaskGraph(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public TaskGraph transferToDevice(String taskName, PinnedHostBuffer source, DeviceBuffer destination) {
        return add(new Task.ToDevice(taskName, source, destination));
    }

    public TaskGraph launch(String taskName, Kernel kernel, Object... arguments) {
        kernel.pack(arguments).close(); // checks the arguments against the parameters now, not at execution
        return add(new Task.Launch(taskName, kernel, List.of(arguments)));
    }

    public TaskGraph copy(String taskName, DeviceBuffer source, DeviceBuffer destination) {
        return add(new Task.Copy(taskName, source, destination));
    }

    public TaskGraph gemm(String taskName, CublasLtGemm gemm, DeviceTensor a, DeviceTensor b, DeviceTensor c) {
        return add(new Task.Gemm(taskName, gemm, a, b, c));
    }

    public TaskGraph transferToHost(String taskName, DeviceBuffer source, PinnedHostBuffer destination) {
        return add(new Task.ToHost(taskName, source, destination));
    }

    public TaskGraph task(String taskName, Consumer<CudaStream> work) {
        return add(new Task.Custom(taskName, work));
    }

    private TaskGraph add(Task task) {
        if (!names.add(task.name())) {
            throw new IllegalArgumentException("task graph '" + name + "' already has a task named '" + task.name() + "'");
        }
        tasks.add(task);
        return this;
    }

    /** The tasks as they are now; later additions to this graph do not change the snapshot. */
    public ImmutableTaskGraph snapshot() {
        if (tasks.isEmpty()) throw new IllegalStateException("task graph '" + name + "' has no tasks");
        return new ImmutableTaskGraph(name, tasks);
    }
}
