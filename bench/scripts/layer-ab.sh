#!/usr/bin/env bash
# The sparse layer, this working tree's build against an earlier one, on the device in one call: layer 22 of
# MInference's LLaMA-3-8B patterns, SparseLayerBenchmark's three families (the estimation, the index and the attention
# kernels as GpuSparsePrefill runs them, and our dense kernel beside them), the two builds in separate processes in
# the order new, old, new, old. First the index kernels' GPU tests (GpuIndexBuilderGpuTest, GpuCpuAgreementGpuTest) on
# this tree's build. Here first:
#
#   bash bench/scripts/stage-gpu.sh .gpu
#   mkdir -p .gpu/old && cp <earlier minference-*.jar: any of the modules> .gpu/old/
#
# then on the GPU machine, from the repository root, with .gpu carried:
#
#   bash bench/scripts/layer-ab.sh [--estimation-only] [LENGTH...]
#       (default 131072 524288; logs in $OUT, or ./layer-ab-logs; --estimation-only times the estimation and index
#        alone, median of five after a warm-up)
#
# The earlier build runs with each of .gpu/old's jars in place of the bundle's jar of the same module; the rest of the
# bundle is this tree's, so the earlier jars must not need anything the later modules dropped.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
mode=()
if [ "${1:-}" = --estimation-only ]; then
  mode=(--estimation-only)
  shift
fi
gpu_call layer-ab name,driver_version
if ! ls .gpu/old/minference-*.jar > /dev/null 2>&1; then
  echo "layer-ab: no earlier build in .gpu/old (copy minference-*.jar there)" >&2
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
# earlier ones in place of this tree's
earlier=${TMPDIR:-/tmp}/layer-ab-earlier
rm -rf "$earlier" && mkdir -p "$earlier/lib"
cp .gpu/java "$earlier/java"
ln -s "$PWD/.gpu/jdk.stamp" "$PWD/.gpu/jdk.tar.xz" "$PWD/.gpu/data" "$earlier/"
for jar in .gpu/lib/*.jar; do
  [ -e ".gpu/old/$(basename "$jar")" ] || ln -s "$PWD/$jar" "$earlier/lib/"
done
cp .gpu/old/minference-*.jar "$earlier/lib/"
echo "earlier build: $(cd .gpu/old && ls minference-*.jar | tr '\n' ' ')"
run=0
for build in new old new old; do
  run=$((run + 1))
  launcher=.gpu/java
  [ "$build" = old ] && launcher=$earlier/java
  timeout 300 "$launcher" io.minference.bench.gpu.SparseLayerBenchmark "$patterns" 22 "${mode[@]}" \
    "${lengths[@]}" > "$out/layer$run-$build.log" 2>&1
  echo "run $run ($build build) rc=$?"
  grep -E '^\| [0-9]+K' "$out/layer$run-$build.log"
done
