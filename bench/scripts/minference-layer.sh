#!/usr/bin/env bash
# Our sparse layer against MInference's own pipeline and cuDNN, on the same inputs, in one device call: layer 22 of
# MInference's LLaMA-3-8B patterns, the three families of SparseLayerBenchmark (structured, random, RoPE). The
# benchmark writes its inputs (--dump) and times ours (the default variant, estimation included, the model's head
# batching and dense fallback); bench/scripts/minference_reference.py then runs MInference's index conversion and
# Triton kernel on them, after its estimation; torch_reference.py times cuDNN's dense attention (enable_gqa). Here
# first: `bash bench/scripts/stage-gpu.sh .gpu` and `bash bench/scripts/minference-ref-sources.sh GIT_DIR`; then on
# the GPU machine, from the repository root, with .gpu and .minference-ref carried:
#
#   [VARIANTS='default|range-box=16'] bash bench/scripts/minference-layer.sh [LENGTH...]
#
# (default length 131072; logs in $OUT, or ./minference-layer-logs). VARIANTS: Hopper sparse variants timed beside
# each other in the same process (SparseLayerBenchmark --variants), the first the one set against MInference.
#
# About a minute to build MInference's extension, then about two minutes per length up to 128K and five at 512K.
# The inputs go to $MINFERENCE_LAYER_INPUTS (default /tmp/layer-inputs): 1.5 GiB per family at 128K, 6 GiB at 512K.
set -uo pipefail
. "$(dirname "$0")/gpu-call.sh"
for length in "$@"; do
  if [[ ! $length =~ ^[0-9]+$ ]]; then echo "minference-layer: '$length' is not a length in tokens" >&2; exit 2; fi
done
if [ ! -f "$(dirname "$0")/../../.minference-ref/COMMIT" ]; then
  echo "minference-layer: .minference-ref is missing: run bench/scripts/minference-ref-sources.sh here and carry it" >&2
  exit 2
fi
gpu_call minference-layer name,driver_version
export MINFERENCE_TEST_DATA=${MINFERENCE_TEST_DATA:-$PWD/.gpu/data}
patterns=$MINFERENCE_TEST_DATA/minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json
inputs=${MINFERENCE_LAYER_INPUTS:-/tmp/layer-inputs}
lengths=("${@:-131072}")
echo "MInference $(cat .minference-ref/COMMIT); lengths ${lengths[*]}" | tee -a "$out/machine.txt"
rm -rf "$inputs"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}  # Hopper; named, so the build needs no CUDA context
# MInference's extension builds on the host's cores while the GPU runs ours (its build directory is then up to date)
(PYTHONPATH=bench/scripts timeout 300 python3 -c "import minference_reference as m; m.load_minference('.minference-ref')" \
  > "$out/minference-build.log" 2>&1; echo "MInference build rc=$?" >> "$out/minference-build.log") &
builder=$!
timeout 300 .gpu/java io.minference.bench.gpu.SparseLayerBenchmark "$patterns" 22 --dump "$inputs" \
  ${VARIANTS:+--variants "$VARIANTS"} "${lengths[@]}" > "$out/layer.log" 2>&1
echo "ours rc=$?"; grep -E '^\| [0-9]+K|variant' "$out/layer.log" | cut -c1-220
timeout 120 python3 bench/scripts/torch_reference.py --gqa-only --gqa-attention "$(IFS=,; echo "${lengths[*]}")" \
  > "$out/torch.log" 2>&1
echo "cuDNN rc=$?"; tail -6 "$out/torch.log"
wait "$builder"; tail -3 "$out/minference-build.log"
timeout 420 python3 bench/scripts/minference_reference.py --inputs "$inputs" --patterns "$patterns" --layer 22 \
  > "$out/minference.log" 2>&1
echo "MInference rc=$?"; grep -E '^\||GPU|note|warning|Error' "$out/minference.log" | cut -c1-220
rm -rf "$inputs"
