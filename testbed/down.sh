#!/usr/bin/env bash
# Stops what testbed/up.sh started and removes its namespaces, bridge and cgroups.
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/.edgesplit-testbed"
if [ -f "$state/pids" ]; then
  while read -r pid; do kill "$pid" 2>/dev/null; done < "$state/pids"
  sleep 2
  while read -r pid; do pkill -9 -P "$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null; done < "$state/pids"
fi
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^es-/ { print $1 }'); do
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$ns"
done
ip link del es-br0 2>/dev/null
for cg in /sys/fs/cgroup/cpu/es-*; do [ -d "$cg" ] && rmdir "$cg" 2>/dev/null; done
rm -rf "$state"
echo "testbed: down" >&2
