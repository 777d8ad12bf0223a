package io.edgesplit.core.cluster;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What the planner knows about a node: measured time of every block at each thread count, memory,
 * privacy zone, power model and cost.
 *
 * @param cores threads available to stages on this node (threads x replicas <= cores)
 * @param blockTimesMs per thread count, the measured time of each block for one request, in ms
 * @param costPerHour price of running the node for an hour (any currency)
 */
public record NodeProfile(NodeId id, String zone, long memoryBytes, int cores, PowerModel power, double costPerHour,
        Map<Integer, double[]> blockTimesMs) {

    public NodeProfile {
        Objects.requireNonNull(id, "id == null");
        Objects.requireNonNull(zone, "zone == null");
        Objects.requireNonNull(power, "power == null");
        if (memoryBytes <= 0) {
            throw new IllegalArgumentException("node " + id + ": memoryBytes must be > 0");
        }
        if (cores < 1) {
            throw new IllegalArgumentException("node " + id + ": cores must be >= 1");
        }
        if (!(costPerHour >= 0)) {
            throw new IllegalArgumentException("node " + id + ": costPerHour must be >= 0");
        }
        Map<Integer, double[]> copy = new TreeMap<>();
        for (var e : blockTimesMs.entrySet()) {
            if (e.getKey() < 1 || e.getKey() > cores) {
                throw new IllegalArgumentException("node " + id + ": profile for " + e.getKey() + " threads but it has "
                        + cores + " cores");
            }
            for (double t : e.getValue()) {
                if (!(t >= 0) || Double.isInfinite(t)) {
                    throw new IllegalArgumentException("node " + id + ": block times must be finite and >= 0");
                }
            }
            copy.put(e.getKey(), e.getValue().clone());
        }
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("node " + id + " has no block profile");
        }
        blockTimesMs = java.util.Collections.unmodifiableMap(copy);
    }

    /** Thread counts with a profile, ascending. */
    public int[] threadOptions() {
        return blockTimesMs.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    public double blockTime(int threads, int block) {
        return blockTimesMs.get(threads)[block];
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NodeProfile n)) {
            return false;
        }
        if (!(n.id.equals(id) && n.zone.equals(zone) && n.memoryBytes == memoryBytes && n.cores == cores
                && n.power.equals(power) && n.costPerHour == costPerHour && n.blockTimesMs.keySet().equals(blockTimesMs.keySet()))) {
            return false;
        }
        for (var e : blockTimesMs.entrySet()) {
            if (!Arrays.equals(e.getValue(), n.blockTimesMs.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, zone, memoryBytes, cores, power, costPerHour);
    }
}
