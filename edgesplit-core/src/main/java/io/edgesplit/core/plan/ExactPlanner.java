package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeSet;

/**
 * The exact joint placement and partitioning planner (ARCHITECTURE.md section 2).
 *
 * <p>A dynamic program over (stages used, blocks covered, node of the last stage) finds the best
 * chain of stages when a node may host several stages; it is the relaxation. If its optimum uses
 * every node at most once, it is optimal. Otherwise branch and bound restores that rule: for a node
 * v used twice, with b1 the last block of its first use and b2 the first block of its second, every
 * valid plan either keeps v off b1, keeps v off b2, or gives v one stage covering b1..b2. Each
 * branch is again a dynamic program with per-node restrictions, and its optimum bounds the branch.
 *
 * <p>With a latency SLO and another objective, states keep Pareto sets of (objective, latency)
 * labels instead of one value, which keeps the program exact. The local level (HiDP) is chosen per
 * stage: the thread count and replicas that minimize the stage's share of the objective, within
 * the node's cores and memory and the throughput bound. See {@code planner.md} beside this class.
 */
public final class ExactPlanner implements Planner {
    public static final String NAME = "edgesplit";
    /** Subproblems explored before giving up on proving optimality. */
    static final int MAX_SUBPROBLEMS = 20_000;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public PlanResult plan(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        Instance inst = new Instance(model, cluster, policy);
        if (inst.n == 0) {
            return Diagnosis.noNodes(NAME, cluster, policy);
        }
        Label best = branchAndBound(inst);
        if (best == null) {
            return Diagnosis.explain(NAME, model, cluster, policy, this);
        }
        List<Stage> stages = best.stages(inst);
        return new PlanResult.Plan(NAME, stages, CostModel.predict(model, cluster, policy, stages));
    }

    /** Best plan value under the policy, or null if none; used by diagnosis. */
    Label solve(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        Instance inst = new Instance(model, cluster, policy);
        return inst.n == 0 ? null : branchAndBound(inst);
    }

    // ---- branch and bound ------------------------------------------------------------------

    private record Subproblem(Restrictions restrictions, double bound) {}

    static Label branchAndBound(Instance inst) {
        PriorityQueue<Subproblem> queue = new PriorityQueue<>(Comparator.comparingDouble(Subproblem::bound));
        queue.add(new Subproblem(Restrictions.none(inst.n), Double.NEGATIVE_INFINITY));
        Label incumbent = null;
        int explored = 0;
        while (!queue.isEmpty() && explored < MAX_SUBPROBLEMS) {
            Subproblem sp = queue.poll();
            if (incumbent != null && sp.bound() >= incumbent.obj - 1e-12 * Math.abs(incumbent.obj)) {
                break;
            }
            explored++;
            Label relaxed = new Program(inst, sp.restrictions()).run();
            if (relaxed == null || (incumbent != null && relaxed.obj >= incumbent.obj)) {
                continue;
            }
            int[] repeat = relaxed.repeat();
            if (repeat == null) {
                incumbent = relaxed;
                continue;
            }
            int v = repeat[0];
            int b1 = repeat[1];
            int b2 = repeat[2];
            queue.add(new Subproblem(sp.restrictions().forbid(v, b1), relaxed.obj));
            queue.add(new Subproblem(sp.restrictions().forbid(v, b2), relaxed.obj));
            queue.add(new Subproblem(sp.restrictions().mustContain(v, b1, b2), relaxed.obj));
        }
        if (!queue.isEmpty() && explored >= MAX_SUBPROBLEMS && incumbent == null) {
            throw new IllegalStateException("planner gave up after " + MAX_SUBPROBLEMS + " subproblems");
        }
        return incumbent;
    }

    /** Per-node limits added by branching: blocks the node may not run, a range its stage must contain. */
    record Restrictions(int[][] forbiddenPrefix, int[][] must) {
        static Restrictions none(int nodes) {
            return new Restrictions(new int[nodes][], new int[nodes][]);
        }

        Restrictions forbid(int node, int block) {
            int[][] f = forbiddenPrefix.clone();
            int[] old = f[node];
            int blocks = old == null ? -1 : old.length - 1;
            // prefix over blocks: prefix[b] = forbidden blocks before b; built lazily for the node
            int[] mark = new int[Math.max(blocks, block + 1)];
            if (old != null) {
                for (int b = 0; b < blocks; b++) {
                    mark[b] = old[b + 1] - old[b];
                }
            }
            mark[block] = 1;
            int[] prefix = new int[mark.length + 1];
            for (int b = 0; b < mark.length; b++) {
                prefix[b + 1] = prefix[b] + mark[b];
            }
            f[node] = prefix;
            return new Restrictions(f, must);
        }

        Restrictions mustContain(int node, int from, int to) {
            int[][] m = must.clone();
            int[] old = m[node];
            m[node] = old == null ? new int[] {from, to} : new int[] {Math.min(old[0], from), Math.max(old[1], to)};
            return new Restrictions(forbiddenPrefix, m);
        }

        /** May node run blocks [i, j)? */
        boolean allowed(int node, int i, int j) {
            int[] m = must[node];
            if (m != null && (i > m[0] || j - 1 < m[1])) {
                return false;
            }
            int[] p = forbiddenPrefix[node];
            if (p == null) {
                return true;
            }
            int len = p.length - 1;
            int hi = Math.min(j, len);
            int lo = Math.min(i, len);
            return p[hi] - p[lo] == 0;
        }
    }

    // ---- the instance, precomputed ---------------------------------------------------------

    /** The planning problem with everything the program needs in arrays. */
    static final class Instance {
        final ModelProfile model;
        final ClusterSnapshot cluster;
        final Policy policy;
        final Objective objective;
        final boolean bottleneck;
        final boolean labels; // Pareto (objective, latency) labels: an SLO on another objective
        final NodeProfile[] nodes;
        final int n;
        final int blocks;
        final int maxStages;
        final double[][][] timePrefix; // [node][thread option][block prefix]
        final int[][] threads; // [node][option]
        final long[] memPrefix; // weights + KV per block, prefix
        final double[] bytesBefore; // [i]: bytes entering a stage starting at block i
        final double outBytes;
        final double[][] latency; // [from][to] ms, NaN without link; from/to index n = source
        final double[][] invBandwidth; // ms per byte
        final double maxBottleneckMs; // from the throughput bound, or infinity
        final double slo;

        Instance(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
            this.model = model;
            this.cluster = cluster;
            this.policy = policy;
            this.objective = policy.objective();
            this.bottleneck = objective == Objective.THROUGHPUT;
            this.slo = policy.latencySloMs() > 0 ? policy.latencySloMs() : Double.POSITIVE_INFINITY;
            this.labels = objective != Objective.LATENCY && policy.latencySloMs() > 0;
            this.nodes = cluster.nodes().stream()
                    .filter(p -> policy.privacy() == null || policy.privacy().allows(p.zone()))
                    .toArray(NodeProfile[]::new);
            this.n = nodes.length;
            this.blocks = model.blockCount();
            this.maxStages = Math.min(policy.maxStages(), blocks);
            this.timePrefix = new double[n][][];
            this.threads = new int[n][];
            for (int v = 0; v < n; v++) {
                int[] opts = nodes[v].threadOptions();
                threads[v] = opts;
                timePrefix[v] = new double[opts.length][blocks + 1];
                for (int t = 0; t < opts.length; t++) {
                    double[] times = nodes[v].blockTimesMs().get(opts[t]);
                    if (times.length != blocks) {
                        throw new IllegalArgumentException("node " + nodes[v].id() + " has times for " + times.length
                                + " blocks at " + opts[t] + " threads; the model has " + blocks);
                    }
                    for (int b = 0; b < blocks; b++) {
                        timePrefix[v][t][b + 1] = timePrefix[v][t][b] + times[b];
                    }
                }
            }
            memPrefix = new long[blocks + 1];
            bytesBefore = new double[blocks];
            for (int b = 0; b < blocks; b++) {
                BlockProfile p = model.blocks().get(b);
                memPrefix[b + 1] = memPrefix[b] + p.weightBytes() + (long) Math.ceil(policy.kvTokens() * p.kvBytesPerToken());
                bytesBefore[b] = CostModel.bytesInto(model, policy, b);
            }
            outBytes = CostModel.outputBytes(model, policy);
            latency = new double[n + 1][n + 1];
            invBandwidth = new double[n + 1][n + 1];
            for (int a = 0; a <= n; a++) {
                for (int b = 0; b <= n; b++) {
                    var ia = a == n ? cluster.source() : nodes[a].id();
                    var ib = b == n ? cluster.source() : nodes[b].id();
                    if (ia.equals(ib)) {
                        latency[a][b] = 0;
                        invBandwidth[a][b] = 0;
                    } else {
                        Link l = cluster.link(ia, ib);
                        latency[a][b] = l == null ? Double.NaN : l.latencyMs();
                        invBandwidth[a][b] = l == null ? Double.NaN : 1000.0 / l.bandwidthBytesPerS();
                    }
                }
            }
            maxBottleneckMs = policy.minThroughputRps() > 0 ? 1000.0 / policy.minThroughputRps() : Double.POSITIVE_INFINITY;
        }

        double transfer(int from, int to, double bytes) {
            double l = latency[from][to];
            return Double.isNaN(l) ? Double.POSITIVE_INFINITY : l + bytes * invBandwidth[from][to];
        }

        double occupancy(int from, int to, double bytes) {
            double l = latency[from][to];
            return Double.isNaN(l) ? Double.POSITIVE_INFINITY : bytes * invBandwidth[from][to];
        }

        /** Objective share of a hop into node {@code to} (to == n: back to the source). */
        double hopObjective(int from, int to, double bytes) {
            double occupancy = occupancy(from, to, bytes);
            if (Double.isInfinite(occupancy) || occupancy > maxBottleneckMs) { // no link, or too slow
                return Double.POSITIVE_INFINITY;
            }
            if (bottleneck) {
                return occupancy;
            }
            double h = transfer(from, to, bytes);
            double idle = to == n ? 0 : nodes[to].power().idleWatts();
            return switch (objective) {
                case LATENCY -> h;
                case ENERGY -> idle * h / 1000.0;
                case COST -> 0;
                case WEIGHTED -> policy.weights().latencyPerMs() * h + policy.weights().energyPerJoule() * idle * h / 1000.0;
                case THROUGHPUT -> throw new IllegalStateException();
            };
        }

        double combine(double a, double b) {
            return bottleneck ? Math.max(a, b) : a + b;
        }

        /** Objective share of a stage with this compute time and replicas. */
        double stageObjective(int v, double compute, int replicas) {
            NodeProfile p = nodes[v];
            return switch (objective) {
                case LATENCY -> compute;
                case THROUGHPUT -> compute / replicas;
                case ENERGY -> p.power().busyWatts() * compute / 1000.0;
                case COST -> p.costPerHour() / 3600.0 * compute / 1000.0;
                case WEIGHTED -> policy.weights().latencyPerMs() * compute
                        + policy.weights().energyPerJoule() * p.power().busyWatts() * compute / 1000.0
                        + policy.weights().costPerUnit() * p.costPerHour() / 3600.0 * compute / 1000.0;
            };
        }

        /**
         * The local configurations worth considering for node v on blocks [i, j): for most
         * objectives the single best, with SLO labels every thread count (fewest replicas each).
         * Returns {threadOption, replicas} pairs; empty if none fits.
         */
        int[][] options(int v, int i, int j) {
            long mem = memPrefix[j] - memPrefix[i];
            NodeProfile p = nodes[v];
            int maxByMemory = mem == 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, p.memoryBytes() / mem);
            if (maxByMemory < 1) {
                return NONE;
            }
            int[][] all = new int[threads[v].length][];
            int count = 0;
            int best = -1;
            double bestValue = Double.POSITIVE_INFINITY;
            for (int t = 0; t < threads[v].length; t++) {
                int th = threads[v][t];
                int maxReplicas = Math.min(p.cores() / th, maxByMemory);
                if (maxReplicas < 1) {
                    continue;
                }
                double compute = timePrefix[v][t][j] - timePrefix[v][t][i];
                int replicas;
                if (bottleneck) {
                    replicas = maxReplicas;
                } else {
                    replicas = compute <= maxBottleneckMs ? 1 : (int) Math.ceil(compute / maxBottleneckMs);
                    while (replicas <= maxReplicas && compute / replicas > maxBottleneckMs) {
                        replicas++;
                    }
                    if (replicas > maxReplicas) {
                        continue;
                    }
                }
                if (compute / replicas > maxBottleneckMs) {
                    continue;
                }
                all[count++] = new int[] {t, replicas};
                double value = stageObjective(v, compute, replicas);
                if (value < bestValue || (value == bestValue && best >= 0 && threads[v][t] < threads[v][all[best][0]])) {
                    bestValue = value;
                    best = count - 1;
                }
            }
            if (count == 0) {
                return NONE;
            }
            return labels ? Arrays.copyOf(all, count) : new int[][] {all[best]};
        }

        double compute(int v, int option, int i, int j) {
            return timePrefix[v][option][j] - timePrefix[v][option][i];
        }
    }

    private static final int[][] NONE = new int[0][];

    // ---- labels ----------------------------------------------------------------------------

    /** A partial plan: the last stage (node v, blocks [start, end)) and the plan before it. */
    static final class Label {
        final double obj;
        final double lat;
        final Label prev;
        final int node;
        final int start;
        final int end;
        final int option;
        final int replicas;

        Label(double obj, double lat, Label prev, int node, int start, int end, int option, int replicas) {
            this.obj = obj;
            this.lat = lat;
            this.prev = prev;
            this.node = node;
            this.start = start;
            this.end = end;
            this.option = option;
            this.replicas = replicas;
        }

        List<Stage> stages(Instance inst) {
            List<Stage> out = new ArrayList<>();
            for (Label l = this; l != null; l = l.prev) {
                if (l.node >= 0) {
                    out.addFirst(new Stage(inst.nodes[l.node].id(), l.start, l.end - 1, inst.threads[l.node][l.option],
                            l.replicas));
                }
            }
            return out;
        }

        /** {node, last block of its first use, first block of its next use}, or null if no node repeats. */
        int[] repeat() {
            Map<Integer, Label> later = new HashMap<>();
            int[] found = null;
            for (Label l = this; l != null; l = l.prev) {
                if (l.node < 0) {
                    continue;
                }
                Label next = later.get(l.node);
                if (next != null) {
                    found = new int[] {l.node, l.end - 1, next.start};
                }
                later.put(l.node, l);
            }
            return found;
        }
    }

    /** Pareto set of labels: objective ascending, latency strictly descending. */
    static final class Front {
        final List<Label> labels = new ArrayList<>(1);

        /** Adds if not dominated; drops the labels it dominates. Scalar mode keeps one label. */
        boolean offer(Label l, boolean pareto) {
            if (!pareto) {
                if (labels.isEmpty()) {
                    labels.add(l);
                    return true;
                }
                if (l.obj < labels.getFirst().obj) {
                    labels.set(0, l);
                    return true;
                }
                return false;
            }
            for (Label x : labels) {
                if (x.obj <= l.obj && x.lat <= l.lat) {
                    return false;
                }
            }
            labels.removeIf(x -> l.obj <= x.obj && l.lat <= x.lat);
            labels.add(l);
            return true;
        }

        double bestObj() {
            double b = Double.POSITIVE_INFINITY;
            for (Label l : labels) {
                b = Math.min(b, l.obj);
            }
            return b;
        }
    }

    // ---- the dynamic program ---------------------------------------------------------------

    /** One run of the relaxed program under restrictions. */
    static final class Program {
        private final Instance inst;
        private final Restrictions r;

        Program(Instance inst, Restrictions r) {
            this.inst = inst;
            this.r = r;
        }

        Label run() {
            int n = inst.n;
            int blocks = inst.blocks;
            boolean pareto = inst.labels;
            Front[][] current = new Front[blocks + 1][n];
            Label bestFinal = null;
            Front finals = new Front();
            // first stages
            for (int v = 0; v < n; v++) {
                double hopObj = inst.hopObjective(n, v, inst.bytesBefore[0]);
                if (Double.isInfinite(hopObj)) {
                    continue;
                }
                double hopLat = inst.transfer(n, v, inst.bytesBefore[0]);
                Label start = new Label(hopObj, hopLat, null, -1, 0, 0, 0, 0);
                for (int j = 1; j <= blocks; j++) {
                    extend(current, v, 0, j, start, pareto);
                }
            }
            for (int k = 1; k <= inst.maxStages; k++) {
                bestFinal = collectFinals(current, finals, pareto, bestFinal);
                if (k == inst.maxStages) {
                    break;
                }
                Front[][] next = new Front[blocks + 1][n];
                for (int i = 1; i < blocks; i++) {
                    for (int v = 0; v < n; v++) {
                        Front in = bestInto(current, i, v, pareto);
                        if (in == null) {
                            continue;
                        }
                        for (Label from : in.labels) {
                            for (int j = i + 1; j <= blocks; j++) {
                                extend(next, v, i, j, from, pareto);
                            }
                        }
                    }
                }
                current = next;
            }
            if (pareto) {
                Label best = null;
                for (Label l : finals.labels) {
                    if (l.lat <= inst.slo * (1 + 1e-12) && (best == null || l.obj < best.obj)) {
                        best = l;
                    }
                }
                return best;
            }
            if (bestFinal != null && inst.objective == Objective.LATENCY && bestFinal.obj > inst.slo * (1 + 1e-12)) {
                return null; // the fastest plan under these restrictions misses the SLO
            }
            return bestFinal;
        }

        /** Labels ending at i-1 on any node other than v, plus the hop into v: a source for stages on v from block i. */
        private Front bestInto(Front[][] current, int i, int v, boolean pareto) {
            Front in = null;
            for (int m = 0; m < inst.n; m++) {
                Front f = current[i][m];
                if (m == v || f == null) {
                    continue;
                }
                double hopObj = inst.hopObjective(m, v, inst.bytesBefore[i]);
                if (Double.isInfinite(hopObj)) {
                    continue;
                }
                double hopLat = inst.transfer(m, v, inst.bytesBefore[i]);
                for (Label l : f.labels) {
                    double lat = l.lat + hopLat;
                    if (lat > inst.slo * (1 + 1e-12) && pareto) {
                        continue;
                    }
                    Label via = new Label(inst.combine(l.obj, hopObj), lat, l, -1, i, i, 0, 0);
                    if (in == null) {
                        in = new Front();
                    }
                    in.offer(via, pareto);
                }
            }
            return in;
        }

        private void extend(Front[][] target, int v, int i, int j, Label from, boolean pareto) {
            if (!r.allowed(v, i, j)) {
                return;
            }
            int[][] opts = inst.options(v, i, j);
            for (int[] o : opts) {
                double compute = inst.compute(v, o[0], i, j);
                double obj = inst.combine(from.obj, inst.stageObjective(v, compute, o[1]));
                double lat = from.lat + compute;
                if (pareto && lat > inst.slo * (1 + 1e-12)) {
                    continue;
                }
                Front f = target[j][v];
                if (f == null) {
                    f = new Front();
                    target[j][v] = f;
                } else if (!pareto && obj >= f.labels.getFirst().obj) {
                    continue;
                }
                // skip the hop label in the chain: link straight to the previous stage
                Label prev = from.node < 0 ? from.prev : from;
                f.offer(new Label(obj, lat, prev, v, i, j, o[0], o[1]), pareto);
            }
        }

        private Label collectFinals(Front[][] current, Front finals, boolean pareto, Label bestFinal) {
            int n = inst.n;
            for (int v = 0; v < n; v++) {
                Front f = current[inst.blocks][v];
                if (f == null) {
                    continue;
                }
                double hopObj = inst.hopObjective(v, n, inst.outBytes);
                if (Double.isInfinite(hopObj)) {
                    continue;
                }
                double hopLat = inst.transfer(v, n, inst.outBytes);
                for (Label l : f.labels) {
                    Label done = new Label(inst.combine(l.obj, hopObj), l.lat + hopLat, l, -2, 0, 0, 0, 0);
                    if (pareto) {
                        finals.offer(done, true);
                    } else if (bestFinal == null || done.obj < bestFinal.obj) {
                        bestFinal = done;
                    }
                }
            }
            return bestFinal;
        }
    }

    // ---- why there is no plan ---------------------------------------------------------------

    static final class Diagnosis {
        private Diagnosis() {}

        static PlanResult.Infeasible noNodes(String planner, ClusterSnapshot cluster, Policy policy) {
            TreeSet<String> zones = new TreeSet<>();
            cluster.nodes().forEach(n -> zones.add(n.zone()));
            if (policy.privacy() == null) {
                return new PlanResult.Infeasible(planner, "nodes", "the cluster has no nodes");
            }
            return new PlanResult.Infeasible(planner, "privacy", "privacy class '" + policy.privacy().name()
                    + "' allows zones " + new TreeSet<>(policy.privacy().allowedZones()) + " but no node is in them (zones: "
                    + zones + ")");
        }

        static PlanResult.Infeasible explain(String planner, ModelProfile model, ClusterSnapshot cluster, Policy policy,
                ExactPlanner solver) {
            Instance inst = new Instance(model, cluster, policy);
            String scope = policy.privacy() == null ? "" : " in the zones privacy class '" + policy.privacy().name() + "' allows";
            long largest = 0;
            NodeProfile largestNode = null;
            long total = 0;
            for (NodeProfile p : inst.nodes) {
                total += p.memoryBytes();
                if (p.memoryBytes() > largest) {
                    largest = p.memoryBytes();
                    largestNode = p;
                }
            }
            for (int b = 0; b < model.blockCount(); b++) {
                long need = inst.memPrefix[b + 1] - inst.memPrefix[b];
                if (need > largest) {
                    return new PlanResult.Infeasible(planner, "memory", String.format(
                            "block %d (%s) needs %,d bytes (weights + KV for %d tokens); the largest node%s, %s, has %,d",
                            b, model.blocks().get(b).name(), need, policy.kvTokens(), scope, largestNode.id(), largest));
                }
            }
            long need = inst.memPrefix[model.blockCount()];
            if (need > total) {
                return new PlanResult.Infeasible(planner, "memory", String.format(
                        "the model needs %,d bytes (weights + KV for %d tokens); all %d nodes%s have %,d together",
                        need, policy.kvTokens(), inst.n, scope, total));
            }
            Policy unbounded = new Policy(Objective.LATENCY, null, 0, 0, policy.privacy(), policy.maxStages(),
                    policy.kvTokens(), policy.unitsPerRequest());
            Label any = solver.solve(model, cluster, unbounded);
            if (any == null) {
                Label more = solver.solve(model, cluster, unbounded.withMaxStages(Math.max(1, inst.n)));
                if (more != null && policy.maxStages() < inst.n) {
                    return new PlanResult.Infeasible(planner, "max-stages", "no plan of at most " + policy.maxStages()
                            + " stages fits in the nodes' memory; " + more.stages(new Instance(model, cluster,
                            unbounded.withMaxStages(inst.n))).size() + " stages would");
                }
                return new PlanResult.Infeasible(planner, "links", "no chain of nodes" + scope
                        + " is connected by links and fits the model in memory");
            }
            if (policy.minThroughputRps() > 0) {
                Label fastest = solver.solve(model, cluster, unbounded.withObjective(Objective.THROUGHPUT));
                double best = fastest == null ? 0 : 1000.0 / fastest.obj;
                if (fastest == null || best < policy.minThroughputRps()) {
                    return new PlanResult.Infeasible(planner, "min-throughput", String.format(
                            "the minimum throughput of %.3f req/s cannot be met; the best plan reaches %.3f",
                            policy.minThroughputRps(), best));
                }
            }
            if (policy.latencySloMs() > 0) {
                Label quickest = solver.solve(model, cluster, unbounded.withMinThroughput(policy.minThroughputRps()));
                if (quickest == null || quickest.obj > policy.latencySloMs()) {
                    return new PlanResult.Infeasible(planner, "latency-slo", String.format(
                            "the latency SLO of %.3f ms cannot be met%s; the best plan takes %.3f ms",
                            policy.latencySloMs(), policy.minThroughputRps() > 0 ? " with the minimum throughput" : "",
                            quickest == null ? Double.POSITIVE_INFINITY : quickest.obj));
                }
            }
            return new PlanResult.Infeasible(planner, "bounds", "no plan meets all the policy's constraints together");
        }
    }
}
