package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.Comparator;
import java.util.List;

/**
 * exo's ring memory-weighted partitioning and llama.cpp RPC's default tensor split: every node
 * gets a share of the layers proportional to its memory, nodes in order of memory, largest first.
 * With more nodes than the policy's stages, the largest nodes take part.
 */
public final class MemoryProportionalPlanner extends BaselinePlanner {
    public static final String NAME = "memory-proportional";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes) {
        List<NodeProfile> ring = nodes.stream()
                .sorted(Comparator.comparingLong(NodeProfile::memoryBytes).reversed().thenComparing(NodeProfile::id))
                .limit(policy.maxStages())
                .toList();
        double[] memory = ring.stream().mapToDouble(NodeProfile::memoryBytes).toArray();
        return List.of(spans(ring, proportional(model.blockCount(), memory)));
    }
}
