package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.Comparator;
import java.util.List;

/**
 * Jlama and distributed-llama: the same number of layers on every worker, and a power-of-two
 * worker count (distributed-llama's rule). The workers taken are the ones with the most memory,
 * in the order of their names.
 */
public final class EqualSplitPlanner extends BaselinePlanner {
    public static final String NAME = "equal-split";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes) {
        int limit = Math.min(Math.min(nodes.size(), policy.maxStages()), model.blockCount());
        int count = Integer.highestOneBit(limit);
        List<NodeProfile> workers = nodes.stream()
                .sorted(Comparator.comparingLong(NodeProfile::memoryBytes).reversed().thenComparing(NodeProfile::id))
                .limit(count)
                .sorted(Comparator.comparing(NodeProfile::id))
                .toList();
        double[] equal = new double[count];
        java.util.Arrays.fill(equal, 1);
        return List.of(spans(workers, proportional(model.blockCount(), equal)));
    }
}
