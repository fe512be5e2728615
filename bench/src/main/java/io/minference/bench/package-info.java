/**
 * JMH benchmarks and the end-to-end latency harness.
 */
package io.minference.bench;
