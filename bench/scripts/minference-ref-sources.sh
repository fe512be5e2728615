#!/usr/bin/env bash
# Extracts the MInference files that bench/scripts/minference_reference.py runs (its index conversion's CUDA source
# and binding, its Triton vertical-slash kernel, and the FlexPrefill implementation it ships with the Triton flash
# kernel that one imports) from a git copy of github.com/microsoft/MInference into
# .minference-ref/ (ignored by git: MInference's code runs as a reference on the device and is never committed),
# with the commit they came from in .minference-ref/COMMIT. Here, not on the GPU machine (it has no network):
#
#   bash bench/scripts/minference-ref-sources.sh GIT_DIR [COMMIT]
#
# GIT_DIR: a clone or a bare mirror (for example the one the `fetch` tool returns for github:microsoft/MInference);
# COMMIT: HEAD unless given. Then carry .minference-ref to the device call beside .gpu.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: minference-ref-sources.sh GIT_DIR [COMMIT] (GIT_DIR: a git copy of microsoft/MInference)" >&2
  exit 2
fi
git_dir=$1 commit=${2:-HEAD}
cd "$(dirname "$0")/../.."
files="csrc/kernels.cpp csrc/vertical_slash_index.cu minference/ops/pit_sparse_flash_attention_v2.py
  minference/ops/flash_attn_triton.py minference/modules/flexprefill.py"
rm -rf .minference-ref
for file in $files; do
  mkdir -p ".minference-ref/$(dirname "$file")"
  if ! git -C "$git_dir" show "$commit:$file" > ".minference-ref/$file" 2>/dev/null; then
    echo "minference-ref-sources: $git_dir has no $file at $commit: is it a copy of microsoft/MInference?" >&2
    rm -rf .minference-ref
    exit 2
  fi
done
git -C "$git_dir" rev-parse "$commit" > .minference-ref/COMMIT
echo "minference-ref-sources: $(cat .minference-ref/COMMIT) -> .minference-ref ($(du -sh .minference-ref | cut -f1))"
