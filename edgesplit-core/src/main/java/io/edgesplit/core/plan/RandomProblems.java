package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.BlockRole;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded random planning problems for tests and benchmarks: models, clusters and policies of
 * every kind the planner accepts. The caller owns the {@link Random}, so a seed gives the same
 * problems everywhere.
 */
public final class RandomProblems {
    private RandomProblems() {}

    public record Problem(ModelProfile model, ClusterSnapshot cluster, Policy policy) {}

    public static ModelProfile model(Random rnd, int blocks, boolean integers) {
        List<BlockProfile> list = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            long weights = 1 + rnd.nextInt(100);
            double crossing = integers ? 1 + rnd.nextInt(50) : 1 + rnd.nextDouble() * 50;
            double kv = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(4);
            list.add(new BlockProfile(b, "layer." + b, BlockRole.LAYER, 1, weights, 1000, crossing, kv));
        }
        double in = integers ? 1 + rnd.nextInt(20) : rnd.nextDouble() * 20;
        double out = integers ? 1 + rnd.nextInt(20) : rnd.nextDouble() * 20;
        return new ModelProfile("random", ModelKind.DECODER, "token", list, in, out);
    }

    /** Up to 8 blocks and 5 nodes, any objective, bounds, privacy, memory pressure and missing links. */
    public static Problem small(Random rnd) {
        int blocks = 1 + rnd.nextInt(8);
        int nodes = 1 + rnd.nextInt(5);
        ModelProfile model = model(rnd, blocks, false);
        String[] zones = {"trusted", "edge", "cloud"};
        List<NodeProfile> list = new ArrayList<>();
        long totalWeights = model.totalWeightBytes();
        for (int v = 0; v < nodes; v++) {
            int cores = 1 + rnd.nextInt(2) + (rnd.nextInt(4) == 0 ? 1 : 0);
            Map<Integer, double[]> times = new HashMap<>();
            double speed = 0.2 + rnd.nextDouble() * 3;
            for (int t = 1; t <= cores; t++) {
                if (t > 1 && rnd.nextInt(3) == 0) {
                    continue; // not every thread count is profiled
                }
                double[] bt = new double[blocks];
                double scale = t == 1 ? 1 : 1.0 / (t * (0.5 + rnd.nextDouble() * 0.5));
                for (int b = 0; b < blocks; b++) {
                    bt[b] = speed * scale * (0.5 + rnd.nextDouble() * 10);
                }
                times.put(t, bt);
            }
            long memory = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt((int) Math.max(1, totalWeights / 2))
                    : totalWeights / 2 + rnd.nextInt((int) totalWeights * 3 + 1) + 1;
            double idle = rnd.nextDouble() * 10;
            list.add(new NodeProfile(NodeId.of("n" + v), zones[rnd.nextInt(zones.length)], memory, cores,
                    new PowerModel(idle, idle + rnd.nextDouble() * 30), rnd.nextDouble() * 2, times));
        }
        NodeId source = rnd.nextInt(4) == 0 ? list.get(0).id() : NodeId.of("gateway");
        List<Link> links = new ArrayList<>();
        List<NodeId> all = new ArrayList<>(list.stream().map(NodeProfile::id).toList());
        if (!all.contains(source)) {
            all.add(source);
        }
        for (NodeId a : all) {
            for (NodeId b : all) {
                if (!a.equals(b) && rnd.nextInt(10) != 0) {
                    links.add(new Link(a, b, 1 + rnd.nextDouble() * 10_000, rnd.nextDouble() * 5));
                }
            }
        }
        ClusterSnapshot cluster = new ClusterSnapshot(list, links, source);
        Objective objective = Objective.values()[rnd.nextInt(Objective.values().length)];
        Policy policy = Policy.of(objective).withMaxStages(1 + rnd.nextInt(5));
        if (objective == Objective.WEIGHTED) {
            policy = policy.withWeights(new Policy.Weights(rnd.nextDouble(), rnd.nextDouble() * 5, rnd.nextDouble() * 1000));
        }
        if (rnd.nextInt(3) == 0) {
            policy = policy.withKvTokens(rnd.nextInt(20));
        }
        if (rnd.nextInt(3) == 0) {
            policy = policy.withUnitsPerRequest(1 + rnd.nextInt(8));
        }
        if (rnd.nextInt(4) == 0) {
            policy = policy.withPrivacy(new PrivacyClass("restricted", Set.of(zones[rnd.nextInt(2)])));
        }
        if (rnd.nextInt(3) == 0) {
            policy = policy.withSlo(5 + rnd.nextDouble() * 80);
        }
        if (rnd.nextInt(3) == 0) {
            policy = policy.withMinThroughput(10 + rnd.nextDouble() * 200);
        }
        return new Problem(model, cluster, policy);
    }

    /**
     * A problem at benchmark scale: {@code blocks} transformer-like blocks (embedding and head
     * lighter), {@code nodes} heterogeneous nodes (1-4 cores, speeds over a 10x range, memory from
     * a few blocks to the whole model), every pair linked at 10 Mbit/s to 1 Gbit/s, objective as given.
     */
    public static Problem large(Random rnd, int blocks, int nodes, Objective objective) {
        List<BlockProfile> list = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            boolean edge = b == 0 || b == blocks - 1;
            long weights = edge ? 20_000_000 : 28_000_000 + rnd.nextInt(4_000_000);
            list.add(new BlockProfile(b, "layer." + b, BlockRole.LAYER, 1, weights, edge ? 2e7 : 1.1e8, 3072, 0));
        }
        ModelProfile model = new ModelProfile("grid", ModelKind.ENCODER, "token", list, 256, 3072);
        List<NodeProfile> list2 = new ArrayList<>();
        long total = model.totalWeightBytes();
        for (int v = 0; v < nodes; v++) {
            int cores = 1 << rnd.nextInt(3);
            double gflops = 5 + rnd.nextDouble() * 45;
            Map<Integer, double[]> times = new HashMap<>();
            for (int t = 1; t <= cores; t *= 2) {
                double[] bt = new double[blocks];
                for (int b = 0; b < blocks; b++) {
                    bt[b] = list.get(b).flopsPerUnit() * 32 / (gflops * 1e9 * Math.pow(t, 0.8)) * 1000 * (0.95 + rnd.nextDouble() * 0.1);
                }
                times.put(t, bt);
            }
            long memory = (long) (total * (0.05 + rnd.nextDouble() * 0.6));
            double idle = 2 + rnd.nextDouble() * 30;
            list2.add(new NodeProfile(NodeId.of(String.format("node-%03d", v)), rnd.nextInt(4) == 0 ? "trusted" : "edge", memory,
                    cores, new PowerModel(idle, idle * (2 + rnd.nextDouble() * 2)), rnd.nextDouble(), times));
        }
        NodeId source = NodeId.of("gateway");
        List<Link> links = new ArrayList<>();
        List<NodeId> all = new ArrayList<>(list2.stream().map(NodeProfile::id).toList());
        all.add(source);
        for (NodeId a : all) {
            for (NodeId b : all) {
                if (!a.equals(b)) {
                    links.add(new Link(a, b, 1.25e6 * Math.pow(100, rnd.nextDouble()), 0.2 + rnd.nextDouble() * 5));
                }
            }
        }
        return new Problem(model, new ClusterSnapshot(list2, links, source), Policy.of(objective).withUnitsPerRequest(32));
    }
}
