package io.minference.runtime.graph;

import io.minference.runtime.cuda.CublasLtGemm;
import io.minference.runtime.cuda.CudaStream;
import io.minference.runtime.cuda.DeviceBuffer;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.PinnedHostBuffer;

import java.util.List;
import java.util.function.Consumer;

/** One named step of a {@link TaskGraph}: work it queues on a stream, in order with the steps before it. */
public sealed interface Task {
    String name();

    /** Queues the work on {@code stream} (eagerly, or while the stream is being captured). */
    void enqueue(CudaStream stream);

    /** A kernel launch with its arguments (packed again at each enqueue; the driver copies them at launch). */
    record Launch(String name, Kernel kernel, List<Object> arguments) implements Task {
        public Launch {
            arguments = List.copyOf(arguments);
        }

        @Override
        public void enqueue(CudaStream stream) {
            kernel.launch(stream, arguments.toArray());
        }
    }

    /** Host (pinned) to device. */
    record ToDevice(String name, PinnedHostBuffer source, DeviceBuffer destination) implements Task {
        @Override
        public void enqueue(CudaStream stream) {
            destination.copyFromHostAsync(source, stream);
        }
    }

    /** Device to host (pinned). */
    record ToHost(String name, DeviceBuffer source, PinnedHostBuffer destination) implements Task {
        @Override
        public void enqueue(CudaStream stream) {
            source.copyToHostAsync(destination, stream);
        }
    }

    /** Device to device. */
    record Copy(String name, DeviceBuffer source, DeviceBuffer destination) implements Task {
        @Override
        public void enqueue(CudaStream stream) {
            destination.copyFromAsync(source, stream);
        }
    }

    /** {@code c = a x b^T} through cuBLASLt. */
    record Gemm(String name, CublasLtGemm gemm, DeviceTensor a, DeviceTensor b, DeviceTensor c) implements Task {
        @Override
        public void enqueue(CudaStream stream) {
            gemm.multiply(a, b, c, stream);
        }
    }

    /** Anything else that only queues work on the stream (no host synchronisation, no allocation). */
    record Custom(String name, Consumer<CudaStream> work) implements Task {
        @Override
        public void enqueue(CudaStream stream) {
            work.accept(stream);
        }
    }
}
