# The start every device-call script shares; source it, then call gpu_call NAME QUERY: from the repository root
# (this file's grandparent), logs in $OUT (or ./NAME-logs), the staged bundle checked (status 2 and one line without
# it), and the GPU (nvidia-smi's QUERY fields) and the commit written to machine.txt there. Sets $out.
gpu_call() {
  local name=$1 query=$2
  cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
  out=${OUT:-$name-logs}
  mkdir -p "$out"
  if [ ! -x .gpu/java ]; then
    echo "$name: .gpu/java is missing: run 'bash bench/scripts/stage-gpu.sh .gpu' first" >&2
    exit 2
  fi
  { nvidia-smi --query-gpu="$query" --format=csv 2>&1; git log --oneline -1 2>&1; } | tee "$out/machine.txt"
}

# check_parts NAME 'PART...' GIVEN...: a given part that is not one of the script's is one line naming it, status 2
# (before gpu_call, so that a misspelt part is refused at once, bundle or not, instead of running nothing)
check_parts() {
  local name=$1 list=$2 known=" $2 " part
  shift 2
  for part in "$@"; do
    if [[ $known != *" $part "* ]]; then
      echo "$name: no part '$part'; the parts are: $list" >&2
      exit 2
    fi
  done
}

# The JUnit console launcher's verdict in a log: its counts and what failed, colours stripped.
test_summary() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E "tests (successful|failed|aborted)|FAILED|ABORTED" | cut -c1-300 | head -12
}

# SparseLayerBenchmark on layer 22 of MInference's LLaMA-3-8B patterns at 128K, once per JAVA_OPTS variant given ("" for
# the defaults), in that order, each under LIMIT seconds: usage `layer_runs LIMIT VARIANT...`; layerN.log in $out, the
# variant line and the 128K rows printed.
layer_runs() {
  local limit=$1 run=0 variant
  shift
  local patterns=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
  for variant in "$@"; do
    run=$((run + 1))
    JAVA_OPTS="$variant" timeout "$limit" .gpu/java io.minference.bench.gpu.SparseLayerBenchmark "$patterns" 22 131072 \
      > "$out/layer$run.log" 2>&1
    echo "layer run $run (${variant:-defaults}) rc=$?"
    grep -E '^\| 128K|variant' "$out/layer$run.log" | cut -c1-220
  done
}

# SparseLayerBenchmark on layer 22 of MInference's LLaMA-3-8B patterns, the Hopper sparse variants timed in one process
# (alternating, on the same inputs; the first the reference): usage `layer_variants LIMIT NAME 'VARIANT|...' LENGTH...`;
# NAME.log in $out, the variant lines and both tables printed.
layer_variants() {
  local limit=$1 name=$2 variants=$3
  shift 3
  local patterns=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
  timeout "$limit" .gpu/java io.minference.bench.gpu.SparseLayerBenchmark "$patterns" 22 --variants "$variants" "$@" \
    > "$out/$name.log" 2>&1
  echo "$name rc=$?"
  grep -E '^\| [0-9]+K|variant' "$out/$name.log" | cut -c1-220
}
