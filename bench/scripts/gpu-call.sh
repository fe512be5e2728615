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
