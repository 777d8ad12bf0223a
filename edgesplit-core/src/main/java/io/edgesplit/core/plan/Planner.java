package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.model.ModelProfile;

/** (model profile, cluster snapshot, policy) -> plan. Implementations are pure functions. */
public interface Planner {
    String name();

    PlanResult plan(ModelProfile model, ClusterSnapshot cluster, Policy policy);
}
