#!/usr/bin/env bash
# A/B of the grouped split-K decode's key-loop layouts over the 8-bit KV cache (issue 13), beside the bf16 kernel,
# then the decode GPU tests that check every layout against float64. On the GPU machine, from the repository root,
# after `bash bench/scripts/stage-gpu.sh .gpu`:
#
#   bash bench/scripts/decode8-ab.sh            (logs in $OUT, or ./decode8-ab-logs without it)
#
# 1. DecodeAttentionBenchmark --layouts at 128K and 1M keys (32 query heads, 8 KV heads, d 128), in one JVM: for
#    each layout of DecodeAttentionBenchmark.layouts() (the reference, DecodeTuning.REFERENCE, first) one layer's
#    graph-form decode over a bf16, an int8 and an e4m3 cache, microseconds and GB/s of the cache bytes, beside the
#    floors (bytes over 4.8 TB/s), each figure on stderr as it is measured (so a run the time limit cuts still leaves
#    its figures) and all again at the end. Then a summary table of GB/s per layout.
# 2. CodedKvCacheGpuTest#everyLayoutMatchesFloat64OverTheDequantizedCache (the coded decode under every layout, both
#    code formats, several shapes) and FlashAttentionGpuTest#everyLayoutMatchesFloat64 (the bf16 decode under the
#    layouts), results printed as each test finishes.
# Each part has its own time limit (150 + 100 s), so the whole stays under 4 1/2 minutes; expected about 2 or 3.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
gpu_call decode8-ab name,clocks.max.sm,clocks.max.mem,power.limit

echo "== decode layouts (DecodeAttentionBenchmark --layouts 131072 1048576; each figure printed as measured)"
timeout 150 .gpu/java -Xmx8g io.minference.bench.gpu.DecodeAttentionBenchmark --layouts 131072 1048576 2>&1 \
  | tee "$out/bench.log"
bench=${PIPESTATUS[0]}

echo "== GB/s by layout (bf16 / int8 / e4m3)"
awk '$NF == "GB/s" && $1 == "decode" {
  cache = $(NF - 2); key = $2; layout = "";
  for (i = 3; i <= NF - 3; i++) layout = layout (layout == "" ? "" : " ") $i;
  row = key " " layout; if (!(row in seen)) { seen[row] = 1; order[++n] = row }
  v[row, cache] = $(NF - 1)
} END {
  for (i = 1; i <= n; i++) printf "%-125s bf16 %8s  int8 %8s  e4m3 %8s\n", order[i], v[order[i], "bf16"],
      v[order[i], "int8"], v[order[i], "e4m3"]
}' "$out/bench.log" | tee "$out/summary.txt"
grep "floor" "$out/bench.log" | sort -u | tee -a "$out/summary.txt"

echo "== decode GPU tests"
timeout 100 .gpu/test --details=testfeed \
  --select-method 'io.minference.kernels.transformer.CodedKvCacheGpuTest#everyLayoutMatchesFloat64OverTheDequantizedCache(int,int,int,int,java.lang.String,io.minference.kernels.kvcache.KvCodes)' \
  --select-method 'io.minference.kernels.flash.FlashAttentionGpuTest#everyLayoutMatchesFloat64(io.minference.kernels.flash.DecodeTuning)' \
  2>&1 | tee "$out/tests.log"
tests=${PIPESTATUS[0]}
echo "decode8-ab: benchmark exit $bench, tests exit $tests (124: the part's time limit was reached)"
[ "$bench" -eq 0 ] && [ "$tests" -eq 0 ]
