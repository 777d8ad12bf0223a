#!/usr/bin/env bash
# bench loadgen against the network-namespace testbed: brings it up (testbed/up.sh), runs one loadgen
# scenario against its HTTP API, saves the JSON, brings it down. Needs root.
# Usage: testbed/loadgen.sh OUT.json [CONFIG] [MODEL] -- LOADGEN_ARGS...
#   e.g. testbed/loadgen.sh out/testbed-single-stream.json -- --scenario single-stream --min-duration-s 20 --min-queries 64
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: testbed/loadgen.sh OUT.json [CONFIG] [MODEL] -- LOADGEN_ARGS...}"; shift
config="$root/testbed/cluster-testbed.yaml"; model="builtin:minilm"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then config="$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then model="$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
port=18080
"$root/testbed/up.sh" "$config" "$model" "$port"
trap '"$root/testbed/down.sh"' EXIT
site="testbed: each node a network namespace with its links shaped by tc tbf (real kernel shaping, no added latency) and its worker in a cgroup v1 CPU quota of speed x threads cores (real CPU limits on 2 shared cores); the orchestrator measures both as they are; nothing is emulated in the processes"
"$root/edgesplit" bench loadgen --url "http://127.0.0.1:$port" --model "$model" --site "$site" --json "$@" > "$out.part"
mv "$out.part" "$out"
echo "testbed: wrote $out" >&2
