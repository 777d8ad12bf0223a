#!/usr/bin/env bash
# Measures a real shaped link: two network namespaces joined by a veth pair, egress shaped with
# tc tbf (RATE, and netem-free added delay is not available here), probed with
# `edgesplit probe-link`. Needs root. Usage: testbed/probe-shaped-link.sh [RATE] (default 100mbit)
set -euo pipefail
rate="${1:-100mbit}"
root="$(cd "$(dirname "$0")/.." && pwd)"
a=es-probe-a; b=es-probe-b
cleanup() {
  if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; fi
  ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$a"; ip netns add "$b"
ip link add es-veth-a netns "$a" type veth peer name es-veth-b netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev es-veth-a; ip -n "$b" addr add 10.77.0.2/24 dev es-veth-b
ip -n "$a" link set es-veth-a up; ip -n "$b" link set es-veth-b up
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip netns exec "$a" tc qdisc add dev es-veth-a root tbf rate "$rate" burst 32kbit latency 50ms
"$root/edgesplit" --version >/dev/null # build once, outside the namespaces
ip netns exec "$b" "$root/edgesplit" probe-link --listen 7077 >/dev/null &
server=$!
for _ in $(seq 50); do ip netns exec "$a" bash -c "exec 3<>/dev/tcp/10.77.0.2/7077" 2>/dev/null && break; sleep 0.2; done
ip netns exec "$a" "$root/edgesplit" probe-link --target 10.77.0.2:7077 --bytes 4194304 --json
