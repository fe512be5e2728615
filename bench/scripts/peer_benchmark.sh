#!/usr/bin/env bash
# The peer benchmark: minference-java beside llama.cpp (node-llama-cpp 3.21.1, CPU only) on the same GGUF files,
# interleaved (each round runs every system on every file, the order alternating between rounds), three rounds,
# medians. Prints the load average before every run, since a busy machine moves every figure.
#
#   python bench/scripts/make_peer_gguf.py --shape llama3.2-1b --type Q8_0 --out /tmp/llama3.2-1b-q8_0.gguf
#   (cd /tmp/peer && npm i -E node-llama-cpp@3.21.1)
#   bench/scripts/peer_benchmark.sh /tmp/peer /tmp/llama3.2-1b-q8_0.gguf [more.gguf ...]
#
# Environment: LENGTHS (default 512,2048), DECODE (decode tokens, default 32), ROUNDS (default 3), THREADS (2).
# Needs a built minference (bin/mvn -q -B package -DskipTests) and /usr/bin/time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
node_dir=${1:?usage: peer_benchmark.sh NODE_DIR (where node-llama-cpp is installed) MODEL.gguf...}
shift
[ $# -ge 1 ] || { echo "usage: peer_benchmark.sh NODE_DIR MODEL.gguf..." >&2; exit 2; }
lengths=${LENGTHS:-512,2048}
decode=${DECODE:-32}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
results=$(mktemp -d)
cp "$root/bench/scripts/llamacpp_bench.mjs" "$node_dir/"

run_llamacpp() {
  (cd "$node_dir" && node llamacpp_bench.mjs --model "$1" --lengths "$lengths" --decode-tokens "$decode" \
      --threads "$threads") | tail -1 >> "$results/llamacpp.jsonl"
}

run_minference() {
  local log="$results/minference-$(basename "$1")-$2.txt"
  MINFERENCE_JAVA_OPTS="-Djava.util.concurrent.ForkJoinPool.common.parallelism=$threads" \
    /usr/bin/time -f "wall %e s, max RSS %M KiB" "$root/bin/minference" bench --model "$1" --lengths "$lengths" \
      --decode-tokens "$decode" --device cpu > "$log" 2>&1
  grep -E "loaded in|^ +[0-9]+ |wall" "$log" | sed "s|^|minference $(basename "$1") round $2: |"
}

for round in $(seq 1 "$rounds"); do
  for model in "$@"; do
    echo "round $round, $(basename "$model"): load average $(cut -d' ' -f1-3 /proc/loadavg)"
    if (( round % 2 )); then
      run_llamacpp "$model"; tail -1 "$results/llamacpp.jsonl"
      run_minference "$model" "$round"
    else
      run_minference "$model" "$round"
      run_llamacpp "$model"; tail -1 "$results/llamacpp.jsonl"
    fi
  done
done

echo "medians over $rounds rounds (llama.cpp):"
python3 - "$results/llamacpp.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for model in sorted({r["model"] for r in runs}):
    rs = [r for r in runs if r["model"] == model]
    med = lambda f: statistics.median(f(r) for r in rs)
    prefill = {n: med(lambda r: r["prefill"][n]) for n in rs[0]["prefill"]}
    print(f"  {model}: load {med(lambda r: r['load_s']):.2f} s, prefill tok/s "
          + ", ".join(f"{n}: {v:.1f}" for n, v in prefill.items())
          + f", decode {med(lambda r: r['decode_tok_s']):.2f} tok/s, peak RSS {med(lambda r: r['peak_rss_gib']):.2f} GiB")
PY
echo "medians over $rounds rounds (minference-java):"
python3 - "$results" <<'PY'
import glob, os, re, statistics, sys
rows = {}
for path in glob.glob(os.path.join(sys.argv[1], "minference-*.txt")):
    model = re.match(r"minference-(.*)-\d+\.txt", os.path.basename(path)).group(1)
    text = open(path).read()
    load = re.search(r"loaded in ([0-9.]+) s", text)
    entry = rows.setdefault(model, {"load": [], "rows": {}})
    if load:
        entry["load"].append(float(load.group(1)))
    for m in re.finditer(r"^\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+) GiB", text, re.M):
        entry["rows"].setdefault(int(m.group(1)), []).append((float(m.group(3)), float(m.group(4)), float(m.group(5))))
for model, e in sorted(rows.items()):
    parts = [f"load {statistics.median(e['load']):.2f} s" if e["load"] else "load n/a"]
    for n, rs in sorted(e["rows"].items()):
        parts.append(f"{n}: prefill {statistics.median(r[0] for r in rs):.1f} tok/s, decode "
                     f"{statistics.median(r[1] for r in rs):.2f} tok/s, peak RSS {statistics.median(r[2] for r in rs):.2f} GiB")
    print(f"  {model}: " + "; ".join(parts))
PY
echo "raw logs: $results"
