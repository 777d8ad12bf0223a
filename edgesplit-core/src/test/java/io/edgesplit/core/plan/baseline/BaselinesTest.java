package io.edgesplit.core.plan.baseline;

import static io.edgesplit.core.plan.TestClusters.cluster;
import static io.edgesplit.core.plan.TestClusters.uniformModel;
import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Planner;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.List;
import org.junit.jupiter.api.Test;

class BaselinesTest {
    private static final ModelProfile TWELVE = uniformModel(12, 100, 10);

    private static List<int[]> spans(PlanResult r) {
        assertThat(r).isInstanceOf(PlanResult.Plan.class);
        return ((PlanResult.Plan) r).stages().stream().map(s -> new int[] {s.firstBlock(), s.lastBlock()}).toList();
    }

    private static List<String> nodes(PlanResult r) {
        return ((PlanResult.Plan) r).stages().stream().map(s -> s.node().value()).toList();
    }

    @Test
    void memoryProportionalGivesLayersByMemoryLargestFirst() {
        ClusterSnapshot c = cluster().node("a", 12, 1, 400).node("b", 12, 1, 1000).node("c", 12, 1, 600)
                .fullMesh(1e6, 1).build();
        PlanResult r = new MemoryProportionalPlanner().plan(TWELVE, c, Policy.of(Objective.LATENCY));
        assertThat(nodes(r)).containsExactly("b", "c", "a");
        assertThat(spans(r)).containsExactly(new int[] {0, 5}, new int[] {6, 9}, new int[] {10, 11});
    }

    @Test
    void equalSplitUsesAPowerOfTwoWorkers() {
        ClusterSnapshot c = cluster().node("a", 12, 1, 1000).node("b", 12, 1, 1000).node("c", 12, 1, 500)
                .fullMesh(1e6, 1).build();
        PlanResult r = new EqualSplitPlanner().plan(TWELVE, c, Policy.of(Objective.LATENCY));
        assertThat(nodes(r)).containsExactly("a", "b");
        assertThat(spans(r)).containsExactly(new int[] {0, 5}, new int[] {6, 11});
    }

    @Test
    void petalsSpansFollowThroughputWithinMemory() {
        // b is three times as fast as a and c: 12 blocks split 7.2 : 2.4 : 2.4 -> 7, 3, 2; a has room
        // for only 2 blocks, so its third moves to c
        ClusterSnapshot c = cluster().node("a", 12, 3, 250).node("b", 12, 1, 2000).node("c", 12, 3, 2000)
                .fullMesh(1e6, 1).build();
        PlanResult r = new PetalsPlanner().plan(TWELVE, c, Policy.of(Objective.THROUGHPUT));
        assertThat(nodes(r)).containsExactly("b", "a", "c");
        assertThat(spans(r)).containsExactly(new int[] {0, 6}, new int[] {7, 8}, new int[] {9, 11});
    }

    @Test
    void singleNodeTakesTheFastestThatFits() {
        ClusterSnapshot c = cluster().node("small-fast", 12, 0.5, 500).node("big-slow", 12, 2, 5000)
                .node("big-fast", 12, 1, 5000).fullMesh(1e6, 1).build();
        PlanResult r = new SingleNodePlanner().plan(TWELVE, c, Policy.of(Objective.LATENCY));
        assertThat(nodes(r)).containsExactly("big-fast");
    }

    @Test
    void neurosurgeonCutsBetweenTheDeviceAndOneServer() {
        // the device (the source) is slow; the server is fast but behind a slow link: blocks emit
        // 10 bytes, the input is 1000, so the best cut runs the first block on the device
        ModelProfile model = new ModelProfile("m", io.edgesplit.core.model.ModelKind.ENCODER, "sample",
                TWELVE.blocks(), 1000, 10);
        ClusterSnapshot c = cluster().node("device", 12, 5, 5000).node("server", 12, 1, 5000).source("device")
                .fullMesh(10_000, 0).build();
        PlanResult r = new NeurosurgeonPlanner().plan(model, c, Policy.of(Objective.LATENCY));
        assertThat(nodes(r)).containsExactly("device", "server");
        assertThat(spans(r)).containsExactly(new int[] {0, 0}, new int[] {1, 11});
    }

    @Test
    void aBaselineThatBreaksMemoryIsInfeasibleNamingTheNode() {
        ClusterSnapshot c = cluster().node("a", 12, 1, 1000).node("b", 12, 1, 100).fullMesh(1e6, 1).build();
        PlanResult r = new EqualSplitPlanner().plan(TWELVE, c, Policy.of(Objective.LATENCY));
        assertThat(r).isInstanceOfSatisfying(PlanResult.Infeasible.class, i -> {
            assertThat(i.constraint()).isEqualTo("memory");
            assertThat(i.reason()).contains("node b");
        });
    }

    @Test
    void noBaselineBeatsTheExactPlanner() {
        java.util.Random rnd = new java.util.Random(5);
        int compared = 0;
        for (int i = 0; i < 300; i++) {
            var x = io.edgesplit.core.plan.RandomProblems.small(rnd);
            PlanResult exact = new ExactPlanner().plan(x.model(), x.cluster(), x.policy());
            for (Planner baseline : Baselines.all()) {
                PlanResult r = baseline.plan(x.model(), x.cluster(), x.policy());
                if (r instanceof PlanResult.Plan p) {
                    assertThat(CostModel.violation("check", x.model(), x.cluster(), x.policy(), p.stages())).isNull();
                    assertThat(exact).isInstanceOf(PlanResult.Plan.class);
                    double optimum = CostModel.objective(x.policy(), ((PlanResult.Plan) exact).predicted());
                    assertThat(CostModel.objective(x.policy(), p.predicted())).isGreaterThanOrEqualTo(optimum * (1 - 1e-9));
                    compared++;
                }
            }
        }
        assertThat(compared).isGreaterThan(300);
    }

    @Test
    void namesAreUniqueAndLookedUp() {
        assertThat(Baselines.all().stream().map(Planner::name)).doesNotHaveDuplicates().hasSize(5);
        assertThat(Baselines.named("petals")).isInstanceOf(PetalsPlanner.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Baselines.named("nope")).hasMessageContaining("known");
    }

}
