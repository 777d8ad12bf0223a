package io.edgesplit.core.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ExactPlannerPropertyTest {
    private static final int INSTANCES = 1000;

    @Test
    void matchesBruteForceOnRandomInstances() {
        Random rnd = new Random(20261125);
        ExactPlanner planner = new ExactPlanner();
        int feasible = 0;
        for (int i = 0; i < INSTANCES; i++) {
            RandomProblems.Problem x = RandomProblems.small(rnd);
            PlanResult brute = new BruteForcePlanner().plan(x.model(), x.cluster(), x.policy());
            PlanResult result = planner.plan(x.model(), x.cluster(), x.policy());
            String where = "instance " + i + " " + x.policy() + " brute force " + brute + " got " + result;
            if (brute instanceof PlanResult.Infeasible) {
                assertThat(result).as(where).isInstanceOf(PlanResult.Infeasible.class);
                continue;
            }
            feasible++;
            double optimum = CostModel.objective(x.policy(), ((PlanResult.Plan) brute).predicted());
            assertThat(result).as(where).isInstanceOf(PlanResult.Plan.class);
            PlanResult.Plan plan = (PlanResult.Plan) result;
            assertThat(CostModel.violation("check", x.model(), x.cluster(), x.policy(), plan.stages())).as(where).isNull();
            double value = CostModel.objective(x.policy(), plan.predicted());
            assertThat(value).as(where).isCloseTo(optimum, org.assertj.core.data.Offset.offset(1e-9 * Math.max(1, Math.abs(optimum))));
        }
        // the generator must produce both kinds, or the test proves little
        assertThat(feasible).isBetween(INSTANCES / 5, INSTANCES - INSTANCES / 10);
    }
}
