#!/usr/bin/env bash
# The whole-model prefill on the device, as issues 10 and 13 measure it: synthetic:llama3-8b (random weights made on
# the device), MInference's LLaMA-3-8B patterns, the int8 KV cache, through `minference bench` (prefill seconds with
# the linear / attention / estimation breakdown and their floors, peak device memory, decode tokens/s, joules), with
# nvidia-smi's memory sampled every 2 s beside it. On the GPU machine, from the repository root, after
# `bash bench/scripts/stage-gpu.sh .gpu`:
#
#   JAVA_OPTS='-Dminference.sparse.range-box=16' bash bench/scripts/prefill-bench.sh [PART...]
#
# JAVA_OPTS (optional) names the sparse kernel's variant, the system properties README.md lists; the logs say which.
# Parts (all by default; logs in $OUT, or ./prefill-bench-logs):
#   128k  dense and minference at 128K, 96 decode tokens: issue 10's whole-model targets (dense <= 11.5 s,
#         minference <= 6.0 s) and issue 13's energy (sparse <= 0.5x dense's joules). About two minutes.
#   512k  dense and minference at 512K, 64 decode tokens: issue 13's 25 s, and the speedup. About four minutes.
#   512k-sparse  minference alone at 512K, 64 decode tokens: the 25 s without the dense row. About a minute and a half.
#   1m    minference at 1,048,512 tokens (the model's context less 64), 48 decode tokens: issue 13's
#         60 s within 130 GiB, decode >= 25 tokens/s. About three minutes.
#   gemm  the linear part of a 128K prefill per kernel (LinearPartBenchmark, chunk 8192), cuBLASLt's heuristic
#         against its candidates timed (-Dminference.gemm.autotune=false / true, alternating, twice each; JAVA_OPTS
#         comes first). About three minutes.
# The decode runs a second or more at each length (the joules per token need it: EnergyMeter.Energy.SHORTEST_SECONDS).
# One device call (at most ten minutes) for `128k 512k`, one for `1m` (or `512k-sparse 1m`), and `gemm` with either.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
check_parts prefill-bench "128k 512k 512k-sparse 1m gemm" "$@"
gpu_call prefill-bench name,driver_version,power.limit
export MINFERENCE_TEST_DATA=${MINFERENCE_TEST_DATA:-$PWD/.gpu/data}
patterns=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
echo "JAVA_OPTS: ${JAVA_OPTS:-(none: the defaults)}" | tee -a "$out/machine.txt"
parts=" ${*:-128k 512k 1m} "
# bench LIMIT NAME ARGS...: one `minference bench` run under LIMIT seconds, memory sampled beside it
bench() {
  local limit=$1 name=$2
  shift 2
  (while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader >> "$out/$name-smi.log"; sleep 2; done) &
  local sampler=$!
  timeout "$limit" .gpu/java -Xmx64g io.minference.app.Main bench --model synthetic:llama3-8b --patterns "$patterns" \
    --kv-cache int8 --device cuda "$@" > "$out/$name.log" 2>&1
  echo "$name rc=$?"
  kill "$sampler" 2>/dev/null
  grep -v 'prefill  \[' "$out/$name.log" | tail -14 | cut -c1-600
  echo "nvidia-smi peak: $(sort -n "$out/$name-smi.log" | tail -1)"
}
[[ $parts == *" 128k "* ]] && bench 170 bench128k --lengths 128k --attention dense,minference --decode-tokens 96
[[ $parts == *" 512k "* ]] && bench 400 bench512k --lengths 512k --attention dense,minference --decode-tokens 64
[[ $parts == *" 512k-sparse "* ]] && bench 200 bench512k-sparse --lengths 512k --attention minference --decode-tokens 64
[[ $parts == *" 1m "* ]] && bench 480 bench1m --lengths 1048512 --attention minference --decode-tokens 48
if [[ $parts == *" gemm "* ]]; then
  run=0
  for autotune in false true false true; do
    run=$((run + 1))
    JAVA_OPTS="${JAVA_OPTS:-} -Dminference.gemm.autotune=$autotune" timeout 100 .gpu/java -Xmx8g \
      io.minference.bench.gpu.LinearPartBenchmark llama3-8b 131072 8192 > "$out/gemm$run.log" 2>&1
    echo "gemm run $run (autotune $autotune) rc=$?"
    grep -E "autotune|tokens, chunk|outside attention" "$out/gemm$run.log" | cut -c1-300
  done
fi
exit 0
