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

/** Seeded random planning problems: models, clusters and policies of every kind the planner accepts. */
final class RandomInstances {
    private RandomInstances() {}

    record Instance(ModelProfile model, ClusterSnapshot cluster, Policy policy) {}

    static ModelProfile model(Random rnd, int blocks, boolean integers) {
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

    static Instance small(Random rnd) {
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
        return new Instance(model, cluster, policy);
    }
}
