package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.plan.Planner;
import java.util.List;

/** The peers' placement policies, in the order reports list them. */
public final class Baselines {
    private Baselines() {}

    public static List<Planner> all() {
        return List.of(new SingleNodePlanner(), new NeurosurgeonPlanner(), new MemoryProportionalPlanner(),
                new EqualSplitPlanner(), new PetalsPlanner());
    }

    public static Planner named(String name) {
        for (Planner p : all()) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw io.edgesplit.core.error.EdgeSplitException.invalidArgument("no baseline named '" + name + "'; known: "
                + all().stream().map(Planner::name).toList());
    }
}
