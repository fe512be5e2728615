package io.minference.runtime.cuda;

import io.minference.ptx.KernelSource;

import java.lang.foreign.Arena;

/**
 * A {@link KernelSource} bound to a launch shape in one context: its module loaded (once per context), its
 * dynamic shared memory ({@link KernelSource#sharedMemoryBytes()}) allowed, ready to launch on a stream.
 */
public final class Kernel {
    private final CudaContext context;
    private final KernelSource source;
    private final CudaFunction function;
    private final LaunchShape shape;

    Kernel(CudaContext context, KernelSource source, CudaFunction function, LaunchShape shape) {
        this.context = context;
        this.source = source;
        this.function = function;
        this.shape = shape;
        if (shape.threadsPerBlock() > context.device().maxThreadsPerBlock()) {
            throw new IllegalArgumentException("kernel '" + source.entryName() + "': " + shape + " exceeds the "
                    + context.device().maxThreadsPerBlock() + " threads a block may have");
        }
        function.allowDynamicShared(source.sharedMemoryBytes());
    }

    public KernelSource source() {
        return source;
    }

    public CudaFunction function() {
        return function;
    }

    public LaunchShape shape() {
        return shape;
    }

    /** The same kernel with another launch shape (the module is not loaded again). */
    public Kernel withShape(LaunchShape newShape) {
        return new Kernel(context, source, function, newShape);
    }

    /** Packs arguments for repeated launches; see {@link KernelArgs} for the accepted values. */
    public KernelArgs pack(Object... arguments) {
        return KernelArgs.pack(source.entryName(), source.params(), arguments);
    }

    /** Queues one launch on {@code stream}. */
    public void launch(CudaStream stream, Object... arguments) {
        try (KernelArgs packed = KernelArgs.pack(Arena.ofConfined(), source.entryName(), source.params(), arguments)) {
            launch(stream, packed);
        }
    }

    /** Queues one launch with arguments packed earlier. */
    public void launch(CudaStream stream, KernelArgs arguments) {
        context.makeCurrent();
        context.driver().launchKernel(function.handle(), shape.gridX(), shape.gridY(), shape.gridZ(), shape.blockX(),
                shape.blockY(), shape.blockZ(), source.sharedMemoryBytes(), stream.handle(), arguments.pointerArray());
    }

    @Override
    public String toString() {
        return "Kernel[" + source.entryName() + ", " + source.target().arch() + ", " + shape + ", "
                + source.sharedMemoryBytes() + " dynamic shared bytes]";
    }
}
