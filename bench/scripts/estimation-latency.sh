#!/usr/bin/env bash
# The estimation kernels' cycles per block in the PTX emulator's latency model (WarpEmulator.modelledCycles), no GPU:
# EstimationLatencyReport on this tree's sparse-attention classes, then, when a jar is given, on that earlier
# sparse-attention jar (the same report and emulator, the kernels swapped). From the repository root, after
# `bin/mvn -q -B -DskipTests install`:
#
#   bash bench/scripts/estimation-latency.sh LENGTH [EARLIER_SPARSE_ATTENTION_JAR]
set -euo pipefail
length=${1:?usage: estimation-latency.sh LENGTH [EARLIER_SPARSE_ATTENTION_JAR]}
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
base=ptx/target/classes:kernels/target/classes:kernels/target/test-classes:runtime/target/classes:config/target/classes
report=sparse-attention/target/test-classes
echo "this tree:"
"$java" -cp "$report:$base:sparse-attention/target/classes" io.minference.sparse.gpu.EstimationLatencyReport "$length"
if [ $# -ge 2 ]; then
  echo "$2:"
  # the earlier jar's classes come first: the report's own class and helpers are the only ones taken from this tree
  "$java" -cp "$2:$report:$base" io.minference.sparse.gpu.EstimationLatencyReport "$length"
fi
