package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.ModelProfile;
import java.util.List;

/**
 * The one cost model every planner and baseline is judged by (ARCHITECTURE.md section 2). For a
 * request of U units:
 * <ul>
 *   <li>stage compute = sum of its blocks' measured times on its node at its thread count;
 *   <li>hop = link latency + bytes / bandwidth, with source -> first stage carrying the input,
 *       stage -> stage the crossing activations, last stage -> source the output (a node to itself: 0);
 *   <li>latency = stage computes + hops;
 *   <li>throughput = 1 / max(stage compute / replicas, link occupancy (bytes / bandwidth));
 *   <li>energy = busy watts x stage compute + idle watts x the hop into the stage (the node is kept on
 *       while its input arrives);
 *   <li>cost = price per hour x stage compute;
 *   <li>memory on a node = replicas x (weights + KV tokens x KV bytes per token) of its blocks.
 * </ul>
 * Pure and stateless.
 */
public final class CostModel {
    private CostModel() {}

    public static double computeMs(NodeProfile node, int threads, int first, int last) {
        double sum = 0;
        for (int b = first; b <= last; b++) {
            sum += node.blockTime(threads, b);
        }
        return sum;
    }

    public static long memoryBytes(ModelProfile model, Policy policy, int first, int last, int replicas) {
        long sum = 0;
        for (int b = first; b <= last; b++) {
            BlockProfile p = model.blocks().get(b);
            sum += p.weightBytes() + (long) Math.ceil(policy.kvTokens() * p.kvBytesPerToken());
        }
        return sum * replicas;
    }

    /** Bytes entering the stage that starts at {@code first}. */
    public static double bytesInto(ModelProfile model, Policy policy, int first) {
        double perUnit = first == 0 ? model.inputBytesPerUnit() : model.blocks().get(first - 1).crossingBytesPerUnit();
        return perUnit * policy.unitsPerRequest();
    }

    public static double outputBytes(ModelProfile model, Policy policy) {
        return model.outputBytesPerUnit() * policy.unitsPerRequest();
    }

    /** Transfer time a -> b in ms, or infinity without a link. */
    public static double transferMs(ClusterSnapshot cluster, NodeId a, NodeId b, double bytes) {
        if (a.equals(b)) {
            return 0;
        }
        Link l = cluster.link(a, b);
        return l == null ? Double.POSITIVE_INFINITY : l.transferMs(bytes);
    }

    public static double occupancyMs(ClusterSnapshot cluster, NodeId a, NodeId b, double bytes) {
        if (a.equals(b)) {
            return 0;
        }
        Link l = cluster.link(a, b);
        return l == null ? Double.POSITIVE_INFINITY : l.occupancyMs(bytes);
    }

    public static Prediction predict(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<Stage> stages) {
        double latency = 0;
        double bottleneck = 0;
        double energy = 0;
        double cost = 0;
        NodeId previous = cluster.source();
        for (Stage s : stages) {
            NodeProfile node = cluster.node(s.node());
            double in = bytesInto(model, policy, s.firstBlock());
            double hop = transferMs(cluster, previous, s.node(), in);
            double compute = computeMs(node, s.threads(), s.firstBlock(), s.lastBlock());
            latency += hop + compute;
            bottleneck = Math.max(bottleneck, Math.max(occupancyMs(cluster, previous, s.node(), in), compute / s.replicas()));
            energy += (node.power().busyWatts() * compute + node.power().idleWatts() * hop) / 1000.0;
            cost += node.costPerHour() / 3600.0 * compute / 1000.0;
            previous = s.node();
        }
        double out = outputBytes(model, policy);
        latency += transferMs(cluster, previous, cluster.source(), out);
        bottleneck = Math.max(bottleneck, occupancyMs(cluster, previous, cluster.source(), out));
        return new Prediction(latency, bottleneck == 0 ? Double.POSITIVE_INFINITY : 1000.0 / bottleneck, energy, cost);
    }

    /** The value a plan minimizes under the policy's objective (throughput: the bottleneck in ms). */
    public static double objective(Policy policy, Prediction p) {
        return switch (policy.objective()) {
            case LATENCY -> p.latencyMs();
            case THROUGHPUT -> 1000.0 / p.throughputRps();
            case ENERGY -> p.energyJ();
            case COST -> p.cost();
            case WEIGHTED -> policy.weights().latencyPerMs() * p.latencyMs()
                    + policy.weights().energyPerJoule() * p.energyJ()
                    + policy.weights().costPerUnit() * p.cost();
        };
    }

    /**
     * Null if the plan satisfies the policy on this cluster, else the violated constraint and why:
     * node distinctness, zones, memory, cores, bounds, stage count, links.
     */
    public static PlanResult.Infeasible violation(String planner, ModelProfile model, ClusterSnapshot cluster,
            Policy policy, List<Stage> stages) {
        if (stages.size() > policy.maxStages()) {
            return new PlanResult.Infeasible(planner, "max-stages", stages.size() + " stages, more than the policy's "
                    + policy.maxStages());
        }
        java.util.Set<NodeId> used = new java.util.HashSet<>();
        int next = 0;
        for (Stage s : stages) {
            NodeProfile node = cluster.node(s.node());
            if (node == null) {
                return new PlanResult.Infeasible(planner, "nodes", "unknown node " + s.node());
            }
            if (!used.add(s.node())) {
                return new PlanResult.Infeasible(planner, "nodes", "node " + s.node() + " hosts two stages");
            }
            if (s.firstBlock() != next) {
                return new PlanResult.Infeasible(planner, "blocks", "stages do not cover the blocks in order");
            }
            next = s.lastBlock() + 1;
            if (policy.privacy() != null && !policy.privacy().allows(node.zone())) {
                return new PlanResult.Infeasible(planner, "privacy", "node " + s.node() + " is in zone '" + node.zone()
                        + "', which privacy class '" + policy.privacy().name() + "' does not allow "
                        + "(allowed: " + new java.util.TreeSet<>(policy.privacy().allowedZones()) + ")");
            }
            if (!node.blockTimesMs().containsKey(s.threads()) || s.threads() * s.replicas() > node.cores()) {
                return new PlanResult.Infeasible(planner, "cores", "node " + s.node() + " cannot run " + s.replicas()
                        + " x " + s.threads() + " threads");
            }
            long need = memoryBytes(model, policy, s.firstBlock(), s.lastBlock(), s.replicas());
            if (need > node.memoryBytes()) {
                return new PlanResult.Infeasible(planner, "memory", String.format(
                        "node %s needs %,d bytes for blocks %d-%d but has %,d", s.node(), need, s.firstBlock(),
                        s.lastBlock(), node.memoryBytes()));
            }
        }
        if (next != model.blockCount()) {
            return new PlanResult.Infeasible(planner, "blocks", "stages cover " + next + " of " + model.blockCount() + " blocks");
        }
        Prediction p = predict(model, cluster, policy, stages);
        if (Double.isInfinite(p.latencyMs())) {
            return new PlanResult.Infeasible(planner, "links", "the plan needs a link that does not exist");
        }
        if (policy.latencySloMs() > 0 && p.latencyMs() > policy.latencySloMs() * (1 + 1e-12)) {
            return new PlanResult.Infeasible(planner, "latency-slo", String.format(
                    "predicted latency %.3f ms is over the SLO of %.3f ms", p.latencyMs(), policy.latencySloMs()));
        }
        if (policy.minThroughputRps() > 0 && p.throughputRps() < policy.minThroughputRps() * (1 - 1e-12)) {
            return new PlanResult.Infeasible(planner, "min-throughput", String.format(
                    "predicted throughput %.3f req/s is under the minimum of %.3f", p.throughputRps(), policy.minThroughputRps()));
        }
        return null;
    }
}
