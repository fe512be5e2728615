/**
 * Task graphs and execution plans (TornadoVM's vocabulary): a {@link io.minference.runtime.graph.TaskGraph} names the
 * steps of a computation and their data, {@code snapshot()} freezes it, and an {@link
 * io.minference.runtime.graph.ExecutionPlan} runs it; on CUDA it is recorded once as a CUDA graph and replayed.
 */
package io.minference.runtime.graph;
