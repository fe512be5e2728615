#!/usr/bin/env bash
# What holds the Hopper sparse kernel at about 0.77x of the dense kernel's rate on the tiles it computes (BENCHMARKS.md,
# "Where the sparse kernel's time is not" and "Paired query blocks measured"): Nsight Compute profiles of both on the
# same buffers and a ranges-only index, the dense kernel in the sparse kernel's geometry, the sparse variants on the layer
# at 128K, and the estimation kernels' durations. Part 1 takes about eight minutes, part 2 about eight, 3 and 4
# together about five, 5 about four: one device call (at most ten minutes) for 1, one for 2, one for 3 4, one for 5. On the GPU machine, from the repository root, after
# `bash bench/scripts/stage-gpu.sh .gpu`:
#
#   bash bench/scripts/ncu-sparse.sh [PART...]   (parts 1 to 5 below, all by default; logs, reports and their text
#                                                 pages in $OUT, or ./ncu-sparse-logs)
#
# 1. ncu --set full (clocks left alone) on one launch each, in SparseAttentionBenchmark 32768: the default sparse kernel
#    (the lazy schedule since session 11, boxes of 16 with the copy engine's arrivals since session 14)
#    on the RANGES family (launch 25 of that kernel: 8 launches per family at 32K, RANGES the fourth family) and the
#    dense Hopper kernel (its second launch); each report also as text (--page details), its headline lines printed.
#    A third profile: the dense kernel with 64 query rows a block (`FlashPrefillSweep hopper-m64:64,3`, one consumer
#    warpgroup, two blocks per SM: the sparse kernel's geometry, without its index), then FlashPrefillSweep's rates of
#    the dense kernel with 128 query rows and 128-key steps, 128 rows and 64-key steps, and 64 rows (plain and lazy):
#    if the 64-row dense kernel runs near the sparse kernel's ~450 TFLOP/s, the geometry is what costs; if near the
#    128-row 64-key kernel's ~525, the index's producer and mask are. The persistent dense grids beside them, at 4K
#    too (where a block's fixed costs weigh most; the dense kernel's 504 TFLOP/s there against 587 at 32K). Last, the
#    index kernels' GPU tests (GpuIndexBuilderGpuTest, GpuCpuAgreementGpuTest), for the run-based index assembly.
# 2. SparseLayerBenchmark, layer 22 of MInference's LLaMA-3-8B patterns at 128K, the variants in one process
#    (`--variants`: each repeat runs them all, in an order that rotates, on the same inputs): the default (since
#    session 16: the overlap,lazy schedule, range tiles in boxes of 16 keys, gathered columns arrived for by the copy
#    engine), whole tiles with the producer waiting for its gathers (`range-box=64 gather=wait`), boxes of 32, the
#    waiting producer with boxes of 16, warp arrivals with range tiles by producer warp 0 alone (`gather=warp
#    schedule=lazy,warp`), the `plain` schedule and the `lazy` one (the default until session 16); first the index
#    kernels' GPU tests (as in part 1) and SparseFlashAttentionGpuTest's reference cases (the default kernel),
#    range-box and async cases. Session 14 ran the first four of these at 128K (BENCHMARKS.md, "Session 14").
#    Persistent blocks are left out: slower than the default (session 20, BENCHMARKS.md "The persistent kernels run").
# 5. The layer at 512K (structured, random, RoPE): the default against the former default, boxes of 32, and the
#    waiting producer with boxes of 16 (session 14: the default 6-9 % faster than the former, boxes of 32 a tie).
# 3. The GPU tests session 10 could not reach: CodedKvCacheGpuTest's bit-for-bit cases (the prefill quantizer's and the
#    decode-time RoPE + KV write's codes and scales against CodedBlocks) and LlamaSessionGpuTest on CpuBackend.reference().
# 6. Where the sparse kernel's warps stall, instruction by instruction (session 15 found it bound by issue and latency,
#    not by L2: clusters nearly halved its L2 traffic and it got no faster): ncu --set full with the SASS source
#    page, one launch each of the default variant and of whole tiles with waited gathers (lazy) on the layer at 32K
#    (structured), summed by opcode and the top instructions listed (bench/scripts/ncu_stalls.py); about three
#    minutes.
# 4. Where the estimation's 7 ms at 128K go (issue 10's layer target wants the layer at 40 ms, estimation included): the
#    durations of the estimation and index kernels of one SparseLayerBenchmark layer at 128K under Nsight Compute
#    (its first family, structured; the speed-of-light section only, clocks left alone), as CSV.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
check_parts ncu-sparse "1 2 3 4 5 6" "$@"
gpu_call ncu-sparse name,driver_version
export MINFERENCE_TEST_DATA=${MINFERENCE_TEST_DATA:-$PWD/.gpu/data}
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
P="--clock-control none --target-processes all --set full"
parts=" ${*:-1 2 3 4 5 6} "
want() { [[ $parts == *" $1 "* ]]; }
if want 1; then
echo "== 1. profiles ($NCU)"
timeout 90 $NCU $P -k regex:'^sparse_flash_prefill_sm90a_bf16_d128_s3_headmajor_overlap_lazy_async_gather_rb16$' --launch-skip 24 -c 1 -o "$out/sparse" \
  .gpu/java io.minference.bench.gpu.SparseAttentionBenchmark 32768 > "$out/ncu-sparse.log" 2>&1
echo "sparse rc=$?"
timeout 90 $NCU $P -k regex:'^flash_prefill_sm90a_bf16_d128' --launch-skip 1 -c 1 -o "$out/dense" \
  .gpu/java io.minference.bench.gpu.SparseAttentionBenchmark 32768 > "$out/ncu-dense.log" 2>&1
echo "dense rc=$?"
timeout 90 $NCU $P -k regex:'^flash_prefill_sm90a_bf16_d128_m64_n64_s3$' --launch-skip 2 -c 1 -o "$out/dense64" \
  .gpu/java io.minference.bench.gpu.FlashPrefillSweep hopper-m64:64,3 -- 32768 > "$out/ncu-dense64.log" 2>&1
echo "dense64 rc=$?"
for r in sparse dense dense64; do
  [ -f "$out/$r.ncu-rep" ] && $NCU --import "$out/$r.ncu-rep" --page details > "$out/$r.txt" 2>&1
  echo "-- $r"
  grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|DRAM Throughput|Executed Ipc Active|Issue Slots Busy|Achieved Occupancy|Theoretical Occupancy|Warp Cycles Per Issued|No Eligible|Registers Per" \
    "$out/$r.txt" 2>/dev/null | head -16
done
timeout 150 .gpu/java io.minference.bench.gpu.FlashPrefillSweep hopper:128,2 hopper:64,3 hopper-m64:64,3 \
  hopper-m64:64,3,lazy hopper:128,2,persistent hopper-m64:64,3,lazy,persistent -- 4096 32768 131072 \
  > "$out/sweep.log" 2>&1
echo "sweep rc=$?"; grep -E "TFLOP/s" "$out/sweep.log" | cut -c1-160
timeout 90 python3 bench/scripts/torch_reference.py --gqa-only --gqa-attention 32768,131072 > "$out/torch.log" 2>&1
echo "torch rc=$?"; tail -8 "$out/torch.log"
echo "-- the index kernels' GPU tests (the run-based assembly of session 11): the layer runs of part 2 build on them"
timeout 150 .gpu/test --details=testfeed --include-tag gpu \
  --include-classname '.*(GpuIndexBuilderGpuTest|GpuCpuAgreementGpuTest)' > "$out/index-tests.log" 2>&1
echo "rc=$?"; test_summary "$out/index-tests.log"
fi
if want 2; then
# the index kernels' tests first (session 11's run-based assembly: the layer times mean nothing if they fail), then
# the variants' own
timeout 100 .gpu/test --details=testfeed --include-tag gpu \
  --include-classname '.*(GpuIndexBuilderGpuTest|GpuCpuAgreementGpuTest)' > "$out/index-tests.log" 2>&1
echo "rc=$?"; test_summary "$out/index-tests.log"
timeout 120 .gpu/test --details=testfeed --include-tag gpu --include-classname '.*SparseFlashAttentionGpuTest' \
  --include-methodname '.*(matchesTheCpuReference|rangeBoxesMatchTheCpuReference|theAsyncGatherGivesTheWaitingBits).*' \
  > "$out/variant-tests.log" 2>&1
echo "rc=$?"; test_summary "$out/variant-tests.log"
echo "== 2. the layer at 128K, seven variants in one process"
layer_variants 300 layer128k "default|range-box=64 gather=wait|range-box=32|gather=wait|gather=warp schedule=lazy,warp|schedule=plain|schedule=lazy" 131072
fi
if want 5; then
echo "== 5. the layer at 512K: the default against whole tiles, boxes of 32 and the waiting producer"
layer_variants 420 layer512k "default|range-box=64 gather=wait|range-box=32|gather=wait" 524288
fi
if want 3; then
echo "== 3. what session 10 left unrun: the 8-bit cache's bytes against CodedBlocks, and LlamaSessionGpuTest on CpuBackend.reference()"
timeout 90 .gpu/test --details=testfeed --include-tag gpu --include-classname '.*CodedKvCacheGpuTest' \
  --include-methodname '.*(quantizeWritesTheReferenceBytesAndTheTail|ropeWriteQuantizesEachBlockAsItFills).*' \
  > "$out/kv-bytes.log" 2>&1
echo "rc=$?"; test_summary "$out/kv-bytes.log"
timeout 60 .gpu/test --details=testfeed --include-tag gpu --include-classname '.*LlamaSessionGpuTest' \
  > "$out/session.log" 2>&1
echo "rc=$?"; test_summary "$out/session.log"
fi
if want 4; then
echo "== 4. the estimation and index kernels of one layer at 128K (durations under ncu)"
timeout 240 $NCU --clock-control none --target-processes all --section SpeedOfLight \
  -k regex:'^(vertical_slash|sparse_index|sparse_slot|block_sparse)' -c 12 -o "$out/estimation" \
  .gpu/java io.minference.bench.gpu.SparseLayerBenchmark \
  "$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json" 22 131072 \
  > "$out/ncu-estimation.log" 2>&1
echo "estimation rc=$?"
[ -f "$out/estimation.ncu-rep" ] && $NCU --import "$out/estimation.ncu-rep" --page raw --csv \
  --metrics gpu__time_duration.sum > "$out/estimation.csv" 2>&1
cut -c1-200 "$out/estimation.csv" 2>/dev/null | head -16
fi
if want 6; then
echo "== 6. the sparse kernel's stalls by instruction, the layer at 32K (structured)"
layer=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
for variant in default whole; do
  if [ "$variant" = default ]; then
    spec=default; kernel='^sparse_flash_prefill_sm90a_bf16_d128_s3_headmajor_overlap_lazy_async_gather_rb16$'
  else
    spec='range-box=64 gather=wait schedule=lazy order=longest-first'; kernel='^sparse_flash_prefill_sm90a_bf16_d128_s3_longest_lazy$'
  fi
  timeout 100 $NCU --clock-control none --set full --import-source yes -k regex:"$kernel" --launch-skip 2 -c 1 \
    -o "$out/stalls-$variant" .gpu/java io.minference.bench.gpu.SparseLayerBenchmark "$layer" 22 \
    --variants "$spec" 32768 > "$out/ncu-stalls-$variant.log" 2>&1
  echo "$variant rc=$?"
  $NCU --import "$out/stalls-$variant.ncu-rep" --page source --csv --print-source sass > "$out/stalls-$variant.csv" 2>&1
  python3 bench/scripts/ncu_stalls.py "$out/stalls-$variant.csv" --top 20 | cut -c1-200
done
fi
