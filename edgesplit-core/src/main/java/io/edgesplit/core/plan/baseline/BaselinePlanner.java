package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Planner;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.ArrayList;
import java.util.List;

/**
 * A peer system's placement policy, judged by EdgeSplit's cost model. Peers have no privacy
 * zones, so each baseline sees only the nodes the request's class allows (as an operator would
 * configure it by hand); every other constraint is checked on the plan it proposes, and a plan
 * that breaks one is reported infeasible with the constraint, as the peer would fail at run time.
 * Peers run one instance per node with every profiled core: most threads, one replica.
 */
abstract class BaselinePlanner implements Planner {

    @Override
    public final PlanResult plan(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        List<NodeProfile> nodes = cluster.nodes().stream()
                .filter(n -> policy.privacy() == null || policy.privacy().allows(n.zone()))
                .toList();
        if (nodes.isEmpty()) {
            return new PlanResult.Infeasible(name(), "privacy", "no node is in a zone the request's class allows");
        }
        List<List<Stage>> candidates = propose(model, cluster, policy, nodes);
        PlanResult.Infeasible firstFailure = null;
        PlanResult.Plan best = null;
        for (List<Stage> stages : candidates) {
            PlanResult.Infeasible why = CostModel.violation(name(), model, cluster, policy, stages);
            if (why != null) {
                firstFailure = firstFailure == null ? why : firstFailure;
                continue;
            }
            var p = new PlanResult.Plan(name(), stages, CostModel.predict(model, cluster, policy, stages));
            if (best == null || CostModel.objective(policy, p.predicted()) < CostModel.objective(policy, best.predicted())) {
                best = p;
            }
        }
        if (best != null) {
            return best;
        }
        return firstFailure != null ? firstFailure
                : new PlanResult.Infeasible(name(), "nodes", "the policy proposes no plan on these nodes");
    }

    /**
     * The plans the peer's policy would run; the best feasible one under the objective wins (a peer
     * with one fixed rule proposes one).
     */
    abstract List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes);

    static int threads(NodeProfile node) {
        int[] options = node.threadOptions();
        return options[options.length - 1];
    }

    static Stage stage(NodeProfile node, int first, int last) {
        return new Stage(node.id(), first, last, threads(node), 1);
    }

    /** Stages for consecutive spans of the given lengths on the given nodes; zero-length spans are skipped. */
    static List<Stage> spans(List<NodeProfile> nodes, int[] lengths) {
        List<Stage> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < nodes.size(); i++) {
            if (lengths[i] > 0) {
                out.add(stage(nodes.get(i), next, next + lengths[i] - 1));
                next += lengths[i];
            }
        }
        return out;
    }

    /** Splits {@code total} into integer parts proportional to {@code weights} (largest remainder, ties to the first). */
    static int[] proportional(int total, double[] weights) {
        double sum = 0;
        for (double w : weights) {
            sum += w;
        }
        int[] parts = new int[weights.length];
        double[] rest = new double[weights.length];
        int given = 0;
        for (int i = 0; i < weights.length; i++) {
            double exact = sum == 0 ? (double) total / weights.length : total * weights[i] / sum;
            parts[i] = (int) Math.floor(exact);
            rest[i] = exact - parts[i];
            given += parts[i];
        }
        while (given < total) {
            int pick = 0;
            for (int i = 1; i < weights.length; i++) {
                if (rest[i] > rest[pick]) {
                    pick = i;
                }
            }
            parts[pick]++;
            rest[pick] = -1;
            given++;
        }
        return parts;
    }
}
