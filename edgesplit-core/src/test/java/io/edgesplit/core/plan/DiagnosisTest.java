package io.edgesplit.core.plan;

import static io.edgesplit.core.plan.TestClusters.cluster;
import static io.edgesplit.core.plan.TestClusters.uniformModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.model.ModelProfile;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Infeasible problems name the binding constraint with its figures. */
class DiagnosisTest {
    private static final ModelProfile MODEL = uniformModel(6, 100, 10);
    private final ExactPlanner planner = new ExactPlanner();

    private PlanResult.Infeasible infeasible(ClusterSnapshot c, Policy p) {
        PlanResult r = planner.plan(MODEL, c, p);
        assertThat(r).isInstanceOf(PlanResult.Infeasible.class);
        return (PlanResult.Infeasible) r;
    }

    @Test
    void privacyWithNoNodeInTheAllowedZones() {
        ClusterSnapshot c = cluster().node("a", "public", 6, 1, 10_000).fullMesh(1e6, 1).build();
        var i = infeasible(c, Policy.of(Objective.LATENCY).withPrivacy(new PrivacyClass("medical", Set.of("hospital"))));
        assertThat(i.constraint()).isEqualTo("privacy");
        assertThat(i.reason()).contains("medical").contains("hospital").contains("public");
    }

    @Test
    void aBlockLargerThanAnyNode() {
        ClusterSnapshot c = cluster().node("a", 6, 1, 99).node("b", 6, 1, 50).fullMesh(1e6, 1).build();
        var i = infeasible(c, Policy.of(Objective.LATENCY));
        assertThat(i.constraint()).isEqualTo("memory");
        assertThat(i.reason()).contains("block 0").contains("100 bytes").contains("largest node").contains("a");
    }

    @Test
    void theModelLargerThanAllNodesTogether() {
        ClusterSnapshot c = cluster().node("a", 6, 1, 200).node("b", 6, 1, 200).fullMesh(1e6, 1).build();
        var i = infeasible(c, Policy.of(Objective.LATENCY));
        assertThat(i.constraint()).isEqualTo("memory");
        assertThat(i.reason()).contains("600 bytes").contains("400");
    }

    @Test
    void tooFewStagesForTheMemory() {
        ClusterSnapshot c = cluster().node("a", 6, 1, 300).node("b", 6, 1, 300).fullMesh(1e6, 1).build();
        var i = infeasible(c, Policy.of(Objective.LATENCY).withMaxStages(1));
        assertThat(i.constraint()).isEqualTo("max-stages");
        assertThat(i.reason()).contains("1 stages").contains("2 stages would");
    }

    @Test
    void latencySloThatNoPlanMeets() {
        ClusterSnapshot c = cluster().node("a", 6, 10, 10_000).fullMesh(1e6, 1).build();
        var i = infeasible(c, Policy.of(Objective.ENERGY).withSlo(30));
        assertThat(i.constraint()).isEqualTo("latency-slo");
        assertThat(i.reason()).contains("30.000 ms").contains("62.");
    }

    @Test
    void minimumThroughputThatNoPlanMeets() {
        ClusterSnapshot c = cluster().node("a", 6, 10, 10_000).node("b", 6, 10, 10_000).fullMesh(1e9, 0).build();
        var i = infeasible(c, Policy.of(Objective.LATENCY).withMinThroughput(100));
        assertThat(i.constraint()).isEqualTo("min-throughput");
        assertThat(i.reason()).contains("100.000").contains("33.3");
    }

    @Test
    void missingLinksDisconnectTheNodes() {
        ClusterSnapshot c = new ClusterSnapshot(cluster().node("a", 6, 1, 10_000).build().nodes(), List.of(),
                NodeId.of("gateway"));
        var i = infeasible(c, Policy.of(Objective.LATENCY));
        assertThat(i.constraint()).isEqualTo("links");
    }

    @Test
    void feasibleWithTheSameNodesWhenTheBoundIsLoose() {
        ClusterSnapshot c = cluster().node("a", 6, 10, 10_000).node("b", 6, 10, 10_000).fullMesh(1e9, 0).build();
        assertThat(planner.plan(MODEL, c, Policy.of(Objective.LATENCY).withMinThroughput(20)))
                .isInstanceOfSatisfying(PlanResult.Plan.class, p -> assertThat(p.stages()).hasSize(2));
    }

    @Test
    void clusterAndPolicyRefuseBadFiguresNamingTheField() {
        assertThatThrownBy(() -> new Link(NodeId.of("a"), NodeId.of("b"), 0, 1)).hasMessageContaining("bandwidth");
        assertThatThrownBy(() -> new Link(NodeId.of("a"), NodeId.of("b"), -5, 1)).hasMessageContaining("bandwidth");
        assertThatThrownBy(() -> new ClusterSnapshot(cluster().node("a", 6, 1, 10).build().nodes(),
                List.of(new Link(NodeId.of("a"), NodeId.of("ghost"), 1, 1)), NodeId.of("a")))
                .hasMessageContaining("unknown node ghost");
        assertThatThrownBy(() -> Objective.parse("fastest")).hasMessageContaining("'fastest' does not exist");
        assertThatThrownBy(() -> Policy.of(Objective.LATENCY).withSlo(-1)).hasMessageContaining("latency SLO");
        assertThatThrownBy(() -> new PrivacyClass("x", Set.of())).hasMessageContaining("allows no zone");
    }

    @Test
    void timesForTheWrongNumberOfBlocksAreRefused() {
        ClusterSnapshot c = cluster().node("a", 5, 1, 10_000).fullMesh(1e6, 1).build();
        assertThatThrownBy(() -> planner.plan(MODEL, c, Policy.of(Objective.LATENCY)))
                .hasMessageContaining("times for 5 blocks").hasMessageContaining("model has 6");
    }
}
