package io.edgesplit.core.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.ortools.Loader;
import com.google.ortools.sat.BoolVar;
import com.google.ortools.sat.CpModel;
import com.google.ortools.sat.CpSolver;
import com.google.ortools.sat.CpSolverStatus;
import com.google.ortools.sat.IntVar;
import com.google.ortools.sat.LinearExpr;
import com.google.ortools.sat.LinearExprBuilder;
import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The planner against an independent exact method on instances too large to enumerate: a CP-SAT
 * model of the same problem (blocks to nodes, contiguous per node, per-node threads and replicas,
 * memory, privacy, missing links, stage limit). Times, watts and transfers are integers, so
 * CP-SAT's optimum is exact.
 */
class ExactPlannerCpSatTest {
    /** lcm of the replica counts, so compute / replicas stays an integer in the throughput model. */
    private static final long SCALE = 12;

    @BeforeAll
    static void loadSolver() {
        Loader.loadNativeLibraries();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void agreesWithCpSat(int seed) {
        Random rnd = new Random(seed * 7919L);
        Objective objective = new Objective[] {Objective.LATENCY, Objective.THROUGHPUT, Objective.ENERGY}[seed % 3];
        int blocks = 14 + rnd.nextInt(11);
        int nodes = 5 + rnd.nextInt(4);
        ModelProfile model = RandomProblems.model(rnd, blocks, true);
        List<NodeProfile> list = new ArrayList<>();
        for (int v = 0; v < nodes; v++) {
            int cores = 1 + rnd.nextInt(4);
            Map<Integer, double[]> times = new HashMap<>();
            for (int t = 1; t <= cores; t *= 2) {
                double[] bt = new double[blocks];
                for (int b = 0; b < blocks; b++) {
                    bt[b] = (1 + rnd.nextInt(40)) * (t == 1 ? 2 : 1);
                }
                times.put(t, bt);
            }
            int idle = rnd.nextInt(8);
            list.add(new NodeProfile(NodeId.of("n" + v), rnd.nextInt(3) == 0 ? "public" : "trusted",
                    model.totalWeightBytes() / 3 + rnd.nextInt((int) model.totalWeightBytes()), cores,
                    new PowerModel(idle, idle + 1 + rnd.nextInt(30)), 0, times));
        }
        List<Link> links = new ArrayList<>();
        List<NodeId> ids = new ArrayList<>(list.stream().map(NodeProfile::id).toList());
        ids.add(NodeId.of("gateway"));
        for (NodeId a : ids) {
            for (NodeId b : ids) {
                if (!a.equals(b) && rnd.nextInt(8) != 0) {
                    // bandwidth 1000 / k bytes/s: sending B bytes takes B * k ms, an integer
                    links.add(new Link(a, b, 1000.0 / (1 + rnd.nextInt(3)), rnd.nextInt(6)));
                }
            }
        }
        ClusterSnapshot cluster = new ClusterSnapshot(list, links, NodeId.of("gateway"));
        Policy policy = Policy.of(objective).withMaxStages(2 + rnd.nextInt(5));
        if (seed % 4 == 0) {
            policy = policy.withPrivacy(new PrivacyClass("restricted", Set.of("trusted")));
        }

        PlanResult ours = new ExactPlanner().plan(model, cluster, policy);
        Long theirs = cpSat(model, cluster, policy);
        if (theirs == null) {
            assertThat(ours).as("CP-SAT proves infeasible").isInstanceOf(PlanResult.Infeasible.class);
            return;
        }
        assertThat(ours).as("CP-SAT found a plan").isInstanceOf(PlanResult.Plan.class);
        double value = CostModel.objective(policy, ((PlanResult.Plan) ours).predicted());
        double expected = switch (objective) {
            case THROUGHPUT -> theirs / (double) SCALE;
            case ENERGY -> theirs / 1000.0; // watt-ms to joules
            default -> theirs;
        };
        assertThat(value).isCloseTo(expected, within(1e-6 * Math.max(1, expected)));
    }

    /** CP-SAT's optimal objective in integer units, or null when it proves the problem infeasible. */
    private static Long cpSat(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        List<NodeProfile> nodes = cluster.nodes();
        int n = nodes.size();
        int blocks = model.blockCount();
        Objective objective = policy.objective();
        CpModel m = new CpModel();
        BoolVar[][] y = new BoolVar[blocks][n]; // block b runs on node v
        List<List<int[]>> configs = new ArrayList<>(); // per node: {threads, replicas}
        BoolVar[][] z = new BoolVar[n][]; // node v uses config c
        BoolVar[][][] x = new BoolVar[blocks][n][]; // block b on node v under config c
        for (int v = 0; v < n; v++) {
            NodeProfile p = nodes.get(v);
            List<int[]> cs = new ArrayList<>();
            for (int t : p.threadOptions()) {
                for (int r = 1; t * r <= p.cores(); r++) {
                    cs.add(new int[] {t, r});
                }
            }
            configs.add(cs);
            z[v] = new BoolVar[cs.size()];
            for (int c = 0; c < cs.size(); c++) {
                z[v][c] = m.newBoolVar("z" + v + "_" + c);
            }
            m.addAtMostOne(z[v]);
        }
        for (int b = 0; b < blocks; b++) {
            for (int v = 0; v < n; v++) {
                y[b][v] = m.newBoolVar("y" + b + "_" + v);
                x[b][v] = new BoolVar[configs.get(v).size()];
                for (int c = 0; c < x[b][v].length; c++) {
                    x[b][v][c] = m.newBoolVar("x" + b + "_" + v + "_" + c);
                    m.addImplication(x[b][v][c], z[v][c]);
                }
                m.addEquality(LinearExpr.sum(x[b][v]), y[b][v]);
                if (policy.privacy() != null && !policy.privacy().allows(nodes.get(v).zone())) {
                    m.addEquality(y[b][v], 0);
                }
            }
            m.addExactlyOne(y[b]);
        }
        // contiguity: each node starts at most one stage; the stage count is bounded
        LinearExprBuilder starts = LinearExpr.newBuilder();
        for (int v = 0; v < n; v++) {
            LinearExprBuilder nodeStarts = LinearExpr.newBuilder();
            for (int b = 0; b < blocks; b++) {
                BoolVar s = m.newBoolVar("s" + b + "_" + v);
                if (b == 0) {
                    m.addEquality(s, y[0][v]);
                } else {
                    m.addGreaterOrEqual(LinearExpr.newBuilder().add(s).add(y[b - 1][v]), y[b][v]);
                }
                nodeStarts.add(s);
                starts.add(s);
            }
            m.addLessOrEqual(nodeStarts, 1);
        }
        m.addLessOrEqual(starts, policy.maxStages());
        // memory: replicas x (weights + KV) per config
        for (int v = 0; v < n; v++) {
            LinearExprBuilder mem = LinearExpr.newBuilder();
            for (int b = 0; b < blocks; b++) {
                for (int c = 0; c < x[b][v].length; c++) {
                    mem.addTerm(x[b][v][c], configs.get(v).get(c)[1] * CostModel.memoryBytes(model, policy, b, b, 1));
                }
            }
            m.addLessOrEqual(mem, nodes.get(v).memoryBytes());
        }
        LinearExprBuilder total = LinearExpr.newBuilder();
        IntVar bottleneck = m.newIntVar(0, Long.MAX_VALUE / 4, "bottleneck");
        // compute
        for (int v = 0; v < n; v++) {
            NodeProfile p = nodes.get(v);
            for (int c = 0; c < configs.get(v).size(); c++) {
                int threads = configs.get(v).get(c)[0];
                int replicas = configs.get(v).get(c)[1];
                LinearExprBuilder stage = LinearExpr.newBuilder();
                for (int b = 0; b < blocks; b++) {
                    long t = Math.round(p.blockTime(threads, b));
                    switch (objective) {
                        case LATENCY -> total.addTerm(x[b][v][c], t);
                        case ENERGY -> total.addTerm(x[b][v][c], t * Math.round(p.power().busyWatts()));
                        case THROUGHPUT -> stage.addTerm(x[b][v][c], t * SCALE / replicas);
                        default -> throw new IllegalArgumentException();
                    }
                }
                if (objective == Objective.THROUGHPUT) {
                    m.addGreaterOrEqual(bottleneck, stage);
                }
            }
        }
        // hops: from the source into the first block, between consecutive blocks, back to the source
        NodeId source = cluster.source();
        for (int v = 0; v < n; v++) {
            NodeProfile p = nodes.get(v);
            addHop(m, total, bottleneck, objective, cluster, source, p, p.id(), y[0][v], null,
                    CostModel.bytesInto(model, policy, 0));
            addHop(m, total, bottleneck, objective, cluster, p.id(), null, source, y[blocks - 1][v], null,
                    CostModel.outputBytes(model, policy));
        }
        for (int b = 1; b < blocks; b++) {
            double bytes = CostModel.bytesInto(model, policy, b);
            for (int u = 0; u < n; u++) {
                for (int v = 0; v < n; v++) {
                    if (u != v) {
                        addHop(m, total, bottleneck, objective, cluster, nodes.get(u).id(), nodes.get(v), nodes.get(v).id(),
                                y[b - 1][u], y[b][v], bytes);
                    }
                }
            }
        }
        if (objective == Objective.THROUGHPUT) {
            m.minimize(bottleneck);
        } else {
            m.minimize(total);
        }
        CpSolver solver = new CpSolver();
        solver.getParameters().setNumWorkers(2).setMaxTimeInSeconds(120);
        CpSolverStatus status = solver.solve(m);
        if (status == CpSolverStatus.INFEASIBLE) {
            return null;
        }
        assertThat(status).as("CP-SAT proves optimality").isEqualTo(CpSolverStatus.OPTIMAL);
        return Math.round(solver.objectiveValue());
    }

    /** A hop a -> b used when {@code first} (and {@code second}, if given) hold. */
    private static void addHop(CpModel m, LinearExprBuilder total, IntVar bottleneck, Objective objective,
            ClusterSnapshot cluster, NodeId a, NodeProfile into, NodeId b, BoolVar first, BoolVar second, double bytes) {
        if (a.equals(b)) {
            return;
        }
        BoolVar used = first;
        if (second != null) {
            used = m.newBoolVar("hop");
            m.addGreaterOrEqual(LinearExpr.newBuilder().add(used).add(1), LinearExpr.newBuilder().add(first).add(second));
        }
        Link link = cluster.link(a, b);
        if (link == null) {
            m.addEquality(used, 0);
            return;
        }
        long transfer = Math.round(link.transferMs(bytes));
        long occupancy = Math.round(link.occupancyMs(bytes));
        switch (objective) {
            case LATENCY -> total.addTerm(used, transfer);
            case ENERGY -> total.addTerm(used, into == null ? 0 : transfer * Math.round(into.power().idleWatts()));
            case THROUGHPUT -> m.addGreaterOrEqual(bottleneck, LinearExpr.term(used, occupancy * SCALE));
            default -> throw new IllegalArgumentException();
        }
    }
}
