#!/usr/bin/env bash
# The full benchmark run of issue 8 on one machine: all four MLPerf LoadGen scenarios for an encoder
# (MiniLM) and a generative model (stories260K), each under every placement policy on the emulated
# cluster of examples/cluster-emulated.yaml, the Azure trace replay, the LangChain4j comparison and the
# adaptation scenario; then the Markdown report with its plots. Sized for 2 cores (about an hour),
# far below MLPerf's official minimums, which every result says. As root it also runs the
# testbed's site as network namespaces (testbed/loadgen.sh) beside the same site emulated.
# Usage: bench/run-full.sh OUT_DIR [POLICIES]   (POLICIES: comma-separated, default all)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: bench/run-full.sh OUT_DIR [POLICIES]}"
policies="${2:-adaptive,static,single-node,neurosurgeon,memory-proportional,equal-split,petals}"
mkdir -p "$out"
es() { "$root/edgesplit" "$@"; }
cluster="$root/examples/cluster-emulated.yaml"
run() { # name, then the loadgen arguments
  local name="$1"; shift
  echo "== $name: $(date -u +%H:%M:%S)" >&2
  if es bench loadgen --cluster "$cluster" --policy "$policies" --json "$@" > "$out/$name.json.part"; then
    mv "$out/$name.json.part" "$out/$name.json"
  else
    echo "== $name FAILED (kept $out/$name.json.part)" >&2
  fi
}
trace=(--bandwidth-trace builtin:norway_bus_1 --bandwidth-start-s 28 --bandwidth-speedup 2)

run encoder-single-stream --scenario single-stream --model builtin:minilm --min-duration-s 20 --min-queries 64 "${trace[@]}"
run encoder-multi-stream --scenario multi-stream --model builtin:minilm --min-duration-s 15 --min-queries 32
run encoder-server --scenario server --model builtin:minilm --target-qps 6 --latency-bound-ms 400 --min-duration-s 20 \
  --min-queries 100 "${trace[@]}"
# the server scenario's metric: the highest QPS whose p99 keeps the bound with early stopping (at 0.99, 460
# queries per trial at the 99th percentile), searched per policy; four policies to keep it under 15 minutes
policies_all="$policies"
policies="${SEARCH_POLICIES:-adaptive,static,memory-proportional,equal-split}"
run encoder-server-search --scenario server --model builtin:minilm --search 16,48 --search-steps 2 --latency-bound-ms 400 \
  --min-duration-s 10 --min-queries 460
policies="$policies_all"
run encoder-offline --scenario offline --model builtin:minilm --samples 256 --min-duration-s 0

run generative-single-stream --scenario single-stream --model builtin:stories260k --max-tokens 32 --min-duration-s 15 --min-queries 32
run generative-multi-stream --scenario multi-stream --model builtin:stories260k --max-tokens 32 --min-duration-s 15 --min-queries 8
run generative-server --scenario server --model builtin:stories260k --max-tokens 32 --target-qps 4 --ttft-bound-ms 500 \
  --tpot-bound-ms 100 --min-duration-s 20 --min-queries 80
run generative-offline --scenario offline --model builtin:stories260k --max-tokens 32 --samples 64 --min-duration-s 0
run generative-azure-conv --scenario server --model builtin:stories260k --trace builtin:azure-conv --trace-duration-s 30 \
  --max-tokens 32

# the same scenario on the testbed's site twice: emulated in the processes, then as network namespaces with
# tc tbf and cgroup CPU quotas (root only)
echo "== testbed-emulated: $(date -u +%H:%M:%S)" >&2
es bench loadgen --cluster "$root/testbed/cluster-testbed.yaml" --policy adaptive --scenario single-stream \
  --model builtin:minilm --min-duration-s 20 --min-queries 64 --json > "$out/testbed-emulated.json" \
  || echo "== testbed-emulated FAILED" >&2
if [ "$(id -u)" = 0 ]; then
  echo "== testbed-netns: $(date -u +%H:%M:%S)" >&2
  "$root/testbed/loadgen.sh" "$out/testbed-netns.json" -- --scenario single-stream --min-duration-s 20 --min-queries 64 \
    || echo "== testbed-netns FAILED" >&2
fi

echo "== langchain4j: $(date -u +%H:%M:%S)" >&2
es bench langchain4j --json > "$out/langchain4j.json"
echo "== adaptation: $(date -u +%H:%M:%S)" >&2
es bench adaptation --out "$out/adaptation-timeline" --json > "$out/adaptation.json"
mv "$out/adaptation-timeline/timeline.png" "$out/adaptation-timeline.png"
rm -rf "$out/adaptation-timeline"
es bench report "$out"
echo "== done: $(date -u +%H:%M:%S)" >&2
