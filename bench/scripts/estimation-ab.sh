#!/usr/bin/env bash
# The sparse layer's estimation and index build, this working tree's against an earlier build of the sparse-attention
# module, on the device in one call: layer 22 of MInference's LLaMA-3-8B patterns, SparseLayerBenchmark's three
# families, `--estimation-only` (the estimation and index as GpuSparsePrefill runs them, median of five after a
# warm-up), the two builds in separate processes in the order new, old, new, old. First the index kernels' GPU tests
# (GpuIndexBuilderGpuTest, GpuCpuAgreementGpuTest) on this tree's build. Here first:
#
#   bash bench/scripts/stage-gpu.sh .gpu
#   mkdir -p .gpu/old && cp <the earlier minference-sparse-attention jar> .gpu/old/
#
# then on the GPU machine, from the repository root, with .gpu carried:
#
#   bash bench/scripts/estimation-ab.sh [LENGTH...]   (default 131072 524288; logs in $OUT, or ./estimation-ab-logs)
#
# The earlier build runs with .gpu/old's jar in place of this tree's sparse-attention jar; the rest of the bundle is
# this tree's, so the earlier jar must not need anything the later modules dropped.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
gpu_call estimation-ab name,driver_version
if ! ls .gpu/old/minference-sparse-attention-*.jar > /dev/null 2>&1; then
  echo "estimation-ab: no earlier build in .gpu/old (copy a minference-sparse-attention jar there)" >&2
  exit 2
fi
export MINFERENCE_TEST_DATA=${MINFERENCE_TEST_DATA:-$PWD/.gpu/data}
patterns=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
lengths=("$@")
[ ${#lengths[@]} -eq 0 ] && lengths=(131072 524288)
timeout 150 .gpu/test --details=testfeed --include-tag gpu \
  --include-classname '.*(GpuIndexBuilderGpuTest|GpuCpuAgreementGpuTest)' > "$out/index-tests.log" 2>&1
echo "index tests rc=$?"; test_summary "$out/index-tests.log"
# the earlier build: a copy of the bundle's launcher beside the same JDK and data, its lib the bundle's jars with the
# earlier sparse-attention jar in place of this tree's
earlier=${TMPDIR:-/tmp}/estimation-ab-earlier
rm -rf "$earlier" && mkdir -p "$earlier/lib"
cp .gpu/java "$earlier/java"
ln -s "$PWD/.gpu/jdk.stamp" "$PWD/.gpu/jdk.tar.xz" "$PWD/.gpu/data" "$earlier/"
for jar in .gpu/lib/*.jar; do
  case "$jar" in *minference-sparse-attention-*) ;; *) ln -s "$PWD/$jar" "$earlier/lib/" ;; esac
done
cp .gpu/old/minference-sparse-attention-*.jar "$earlier/lib/"
run=0
for build in new old new old; do
  run=$((run + 1))
  launcher=.gpu/java
  [ "$build" = old ] && launcher=$earlier/java
  timeout 300 "$launcher" io.minference.bench.gpu.SparseLayerBenchmark "$patterns" 22 --estimation-only \
    "${lengths[@]}" > "$out/estimation$run-$build.log" 2>&1
  echo "run $run ($build build) rc=$?"
  grep -E '^\| [0-9]+K' "$out/estimation$run-$build.log"
done
