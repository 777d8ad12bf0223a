package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * Every plan there is: each composition of the blocks into stages, each assignment of distinct
 * nodes to the stages, each (threads, replicas) a node can run. Judged by the cost model alone.
 */
final class BruteForce {
    private final ModelProfile model;
    private final ClusterSnapshot cluster;
    private final Policy policy;
    private final List<NodeProfile> nodes;
    private double best = Double.POSITIVE_INFINITY;
    private List<Stage> bestPlan;
    long evaluated;

    BruteForce(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        this.model = model;
        this.cluster = cluster;
        this.policy = policy;
        this.nodes = cluster.nodes();
    }

    /** The optimal objective value, or infinity when no plan satisfies the policy. */
    double solve() {
        search(new ArrayList<>(), 0, new boolean[nodes.size()]);
        return best;
    }

    List<Stage> bestPlan() {
        return bestPlan;
    }

    private void search(List<Stage> stages, int next, boolean[] used) {
        if (next == model.blockCount()) {
            evaluated++;
            if (CostModel.violation("brute-force", model, cluster, policy, stages) == null) {
                double value = CostModel.objective(policy, CostModel.predict(model, cluster, policy, stages));
                if (value < best) {
                    best = value;
                    bestPlan = List.copyOf(stages);
                }
            }
            return;
        }
        if (stages.size() == policy.maxStages()) {
            return;
        }
        for (int last = next; last < model.blockCount(); last++) {
            for (int v = 0; v < nodes.size(); v++) {
                if (used[v]) {
                    continue;
                }
                NodeProfile node = nodes.get(v);
                used[v] = true;
                for (int threads : node.threadOptions()) {
                    for (int replicas = 1; threads * replicas <= node.cores(); replicas++) {
                        stages.add(new Stage(node.id(), next, last, threads, replicas));
                        search(stages, last + 1, used);
                        stages.removeLast();
                    }
                }
                used[v] = false;
            }
        }
    }
}
