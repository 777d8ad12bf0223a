package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * Every plan there is: each composition of the blocks into stages, each assignment of distinct
 * nodes to the stages, each (threads, replicas) a node can run, judged by the cost model alone.
 * Exponential: it exists to check {@link ExactPlanner} on small problems (tests and
 * {@code edgesplit bench planner}).
 */
public final class BruteForcePlanner implements Planner {
    public static final String NAME = "brute-force";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public PlanResult plan(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        Search s = new Search(model, cluster, policy);
        s.search(new ArrayList<>(), 0, new boolean[cluster.nodes().size()]);
        if (s.bestPlan == null) {
            return new PlanResult.Infeasible(NAME, "bounds", "no plan satisfies the policy (" + s.evaluated
                    + " plans enumerated)");
        }
        return new PlanResult.Plan(NAME, s.bestPlan, CostModel.predict(model, cluster, policy, s.bestPlan));
    }

    private static final class Search {
        private final ModelProfile model;
        private final ClusterSnapshot cluster;
        private final Policy policy;
        private final List<NodeProfile> nodes;
        private double best = Double.POSITIVE_INFINITY;
        private List<Stage> bestPlan;
        private long evaluated;

        Search(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
            this.model = model;
            this.cluster = cluster;
            this.policy = policy;
            this.nodes = cluster.nodes();
        }

        void search(List<Stage> stages, int next, boolean[] used) {
            if (next == model.blockCount()) {
                evaluated++;
                if (CostModel.violation(NAME, model, cluster, policy, stages) == null) {
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
}
