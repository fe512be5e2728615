package io.minference.runtime.graph;

import io.minference.runtime.DType;
import io.minference.runtime.cuda.BFloat16;
import io.minference.runtime.cuda.CublasLtGemmGpuTest;
import io.minference.runtime.cuda.CudaBackend;
import io.minference.runtime.cuda.CudaContext;
import io.minference.runtime.cuda.DeviceTensor;
import io.minference.runtime.cuda.GpuTests;
import io.minference.runtime.cuda.Kernel;
import io.minference.runtime.cuda.LaunchShape;
import io.minference.runtime.cuda.PinnedHostBuffer;
import io.minference.runtime.cuda.TestKernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A small layer (upload, GEMM, bias add, download) run eagerly and as a replayed CUDA graph. */
@Tag("gpu")
class ExecutionPlanGpuTest {
    private static final int M = 48, N = 256, K = 320;

    private static CudaBackend backend;

    @BeforeAll
    static void open() {
        backend = GpuTests.openOrSkip();
    }

    @AfterAll
    static void close() {
        if (backend != null) backend.close();
    }

    @Test
    void aReplayedGraphGivesWhatEagerExecutionGives() {
        long seed = GpuTests.freshSeed();
        Random random = new Random(seed);
        CudaContext context = backend.context();
        short[] weights = CublasLtGemmGpuTest.randomBf16(random, N * K);
        float[] bias = GpuTests.randomFloats(random, M * N);
        Kernel addBias = context.kernel(TestKernels.AXPY, LaunchShape.covering((long) M * N, 256));
        try (PinnedHostBuffer input = context.allocatePinned(2L * M * K);
             PinnedHostBuffer output = context.allocatePinned(4L * M * N);
             DeviceTensor x = DeviceTensor.allocate(context, DType.BF16, M, K);
             DeviceTensor w = DeviceTensor.allocate(context, DType.BF16, N, K);
             DeviceTensor b = DeviceTensor.allocate(context, DType.F32, M, N);
             DeviceTensor product = DeviceTensor.allocate(context, DType.F32, M, N);
             DeviceTensor y = DeviceTensor.allocate(context, DType.F32, M, N)) {
            w.buffer().copyFromHost(MemorySegment.ofArray(weights));
            b.buffer().copyFromHost(MemorySegment.ofArray(bias));
            ImmutableTaskGraph layer = new TaskGraph("layer")
                    .transferToDevice("upload", input, x.buffer())
                    .gemm("project", backend.gemm(), x, w, product)
                    .launch("bias", addBias, product, b, y, 1f, M * N)
                    .transferToHost("download", y.buffer(), output)
                    .snapshot();
            assertEquals(java.util.List.of("upload", "project", "bias", "download"), layer.taskNames());

            try (ExecutionPlan eager = new ExecutionPlan(layer, backend.stream()).withCudaGraph(false);
                 ExecutionPlan graph = new ExecutionPlan(layer, backend.stream())) {
                for (int round = 0; round < 3; round++) {
                    short[] activations = CublasLtGemmGpuTest.randomBf16(random, M * K);
                    MemorySegment.copy(activations, 0, input.segment(), JAVA_SHORT, 0, activations.length);

                    output.segment().fill((byte) 0xFF);
                    eager.execute();
                    float[] eagerResult = output.segment().toArray(JAVA_FLOAT);

                    output.segment().fill((byte) 0xFF);
                    y.buffer().fillBytes((byte) 0xFF);
                    graph.execute();
                    float[] graphResult = output.segment().toArray(JAVA_FLOAT);

                    assertTrue(graph.isRecorded());
                    assertFalse(eager.isRecorded());
                    assertEquals(-1, java.util.Arrays.mismatch(eagerResult, graphResult),
                            "round " + round + ", seed " + seed);
                    double error = relativeError(activations, weights, bias, graphResult);
                    assertTrue(error <= 1e-4, "round " + round + ": relative error " + error + ", seed " + seed);
                }
                assertEquals(3, graph.executions());
            }
        }
    }

    private static double relativeError(short[] x, short[] w, float[] bias, float[] y) {
        double diff = 0, norm = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double sum = bias[i * N + j];
                for (int l = 0; l < K; l++) {
                    sum += (double) BFloat16.toFloat(x[i * K + l]) * BFloat16.toFloat(w[j * K + l]);
                }
                double d = y[i * N + j] - sum;
                diff += d * d;
                norm += sum * sum;
            }
        return Math.sqrt(diff / norm);
    }
}
