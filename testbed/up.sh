#!/usr/bin/env bash
# A testbed of separate hosts on this machine (root on Linux): one network namespace per node of a
# cluster file, joined to this host's namespace by a bridge; each node's veth shaped with tc tbf at the
# rate of its link to the source (egress in the node: its uplink; egress at the bridge: its downlink);
# each worker in a cgroup v1 CPU quota of speed x threads cores; the orchestrator and its HTTP API
# (127.0.0.1:HTTP_PORT) in this host's namespace, the gateway reached at 10.78.0.1. Nothing is emulated
# inside the processes. Usage: testbed/up.sh [CONFIG] [MODEL] [HTTP_PORT]; testbed/down.sh stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-$root/testbed/cluster-testbed.yaml}"
model="${2:-builtin:minilm}"
http="${3:-8080}"
state="$root/.edgesplit-testbed"
if [ "$(id -u)" != 0 ]; then echo "testbed: needs root (network namespaces, tc, cgroups)" >&2; exit 2; fi
if [ -e "$state/up" ]; then echo "testbed: already up; run testbed/down.sh first" >&2; exit 2; fi
if [ ! -d /sys/fs/cgroup/cpu ]; then echo "testbed: needs the cgroup v1 cpu controller at /sys/fs/cgroup/cpu" >&2; exit 2; fi
mkdir -p "$state"
: > "$state/pids"; : > "$state/hosts"; touch "$state/up"
trap 'echo "testbed: failed; cleaning up" >&2; "$root/testbed/down.sh" >/dev/null 2>&1 || true' ERR
"$root/edgesplit" --version >/dev/null # build once, outside the namespaces
"$root/edgesplit" cluster hosts --config "$config" > "$state/hosts"
ip link add es-br0 type bridge
ip addr add 10.78.0.1/24 dev es-br0
ip link set es-br0 up
i=10
while IFS=$'\t' read -r name zone threads speed uplink downlink; do
  ns="es-$name"
  ip netns add "$ns"
  ip link add "esv$i" netns "$ns" type veth peer name "esb$i"
  ip link set "esb$i" master es-br0
  ip link set "esb$i" up
  ip -n "$ns" addr add "10.78.0.$i/24" dev "esv$i"
  ip -n "$ns" link set "esv$i" up
  ip -n "$ns" link set lo up
  if [ "$uplink" -gt 0 ]; then ip netns exec "$ns" tc qdisc add dev "esv$i" root tbf rate "${uplink}bit" burst 64kb latency 200ms; fi
  if [ "$downlink" -gt 0 ]; then tc qdisc add dev "esb$i" root tbf rate "${downlink}bit" burst 64kb latency 200ms; fi
  cg="/sys/fs/cgroup/cpu/es-$name"
  mkdir -p "$cg"
  echo 100000 > "$cg/cpu.cfs_period_us"
  awk -v s="$speed" -v t="$threads" 'BEGIN { printf "%d\n", s * t * 100000 }' > "$cg/cpu.cfs_quota_us"
  # the subshell enters the cgroup, then becomes the worker inside the namespace
  (echo "$BASHPID" > "$cg/tasks"; exec ip netns exec "$ns" "$root/edgesplit" worker --name "$name" --zone "$zone" \
      --port 7101 --threads "$threads" --advertise "10.78.0.$i" --join 10.78.0.1:7070) > "$state/$name.log" 2>&1 &
  echo "$!" >> "$state/pids"
  echo "testbed: $name in namespace $ns at 10.78.0.$i, $threads threads, CPU quota $speed x $threads cores," \
      "uplink ${uplink} bit/s, downlink ${downlink} bit/s (tc tbf)" >&2
  i=$((i + 1))
done < "$state/hosts"
"$root/edgesplit" orchestrator --config "$config" --model "$model" --host 10.78.0.1 --port 7070 --http-port "$http" \
    > "$state/orchestrator.log" 2>&1 &
echo "$!" >> "$state/pids"
for _ in $(seq 180); do
  if curl -sf "http://127.0.0.1:$http/api/plan" 2>/dev/null | grep -Eq '"stages" *: *\['; then break; fi
  sleep 1
done
curl -sf "http://127.0.0.1:$http/api/plan" > "$state/plan.json"
echo "testbed: serving $model at http://127.0.0.1:$http; plan: $(cat "$state/plan.json" | head -c 300)" >&2
