package io.edgesplit.core.plan;

import java.util.List;
import java.util.Objects;

/** A planner's answer: a plan, or why there is none. */
public sealed interface PlanResult permits PlanResult.Plan, PlanResult.Infeasible {

    /** Stages in pipeline order with the predictions of the cost model. */
    record Plan(String planner, List<Stage> stages, Prediction predicted) implements PlanResult {
        public Plan {
            Objects.requireNonNull(planner, "planner == null");
            stages = List.copyOf(stages);
            if (stages.isEmpty()) {
                throw new IllegalArgumentException("a plan has at least one stage");
            }
            for (int i = 1; i < stages.size(); i++) {
                if (stages.get(i).firstBlock() != stages.get(i - 1).lastBlock() + 1) {
                    throw new IllegalArgumentException("stages are not contiguous: " + stages);
                }
            }
        }
    }

    /**
     * @param constraint which kind of constraint binds: {@code privacy}, {@code memory},
     *     {@code latency-slo}, {@code min-throughput}, {@code max-stages}, {@code links}
     * @param reason names the node, zone rule or bound, with the figures
     */
    record Infeasible(String planner, String constraint, String reason) implements PlanResult {}
}
