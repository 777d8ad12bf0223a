package io.edgesplit.core.plan;

import java.util.Random;

/** Public door to the random instances for tests in other packages. */
public final class PlannerInstances {
    private PlannerInstances() {}

    public record Instance(io.edgesplit.core.model.ModelProfile model, io.edgesplit.core.cluster.ClusterSnapshot cluster,
            Policy policy) {}

    public static Instance random(Random rnd) {
        RandomInstances.Instance x = RandomInstances.small(rnd);
        return new Instance(x.model(), x.cluster(), x.policy());
    }
}
