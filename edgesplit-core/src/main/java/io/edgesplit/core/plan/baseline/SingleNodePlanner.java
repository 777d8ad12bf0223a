package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.List;

/** The whole model on the one node that serves the objective best (what a single-box server does). */
public final class SingleNodePlanner extends BaselinePlanner {
    public static final String NAME = "single-node";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes) {
        return nodes.stream().map(n -> List.of(stage(n, 0, model.blockCount() - 1))).toList();
    }
}
