package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The exact joint placement and partitioning planner (ARCHITECTURE.md section 2).
 *
 * <p>A dynamic program over (stages used, blocks covered, node of the last stage) finds the best
 * chain of stages. Without more state it may put two stages on one node: it is a relaxation. The
 * rule that a node hosts one stage is restored by decremental state-space relaxation, as for
 * elementary shortest paths: nodes that the relaxed optimum uses twice join a critical set, whose
 * use the program then tracks in a bit mask per label; it reruns until its optimum uses every node
 * once, which is then optimal for the real problem.
 *
 * <p>Pruning keeps the reruns cheap without touching exactness: the same relaxation run backwards
 * once per problem (per remaining stage budget) bounds every partial plan's completion from below,
 * and an incumbent from heuristics (best single node, the relaxed optimum repaired, a width-one
 * beam over all nodes) bounds the optimum from above. With a latency SLO and another objective,
 * labels are Pareto sets of (objective, latency). The local level (HiDP) is chosen per stage: the
 * thread count and replicas that minimize the stage's share of the objective, within the node's
 * cores and memory and the throughput bound. Single-threaded and pure. See {@code planner.md}.
 */
public final class ExactPlanner implements Planner {
    public static final String NAME = "edgesplit";
    /** Most nodes whose use the program tracks; beyond it the planner reports that it gave up. */
    static final int MAX_CRITICAL = 128;
    /** Cutoffs of the heuristic beam, as multiples of the relaxation's optimum (the last: the incumbent). */
    private static final double[] BEAM_STEPS = {1.01, 1.03, 1.06, 1.1, Double.POSITIVE_INFINITY};

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
        Label best = solve(inst);
        if (best == null) {
            return Diagnosis.explain(NAME, model, cluster, policy, this);
        }
        List<Stage> stages = best.stages(inst);
        return new PlanResult.Plan(NAME, stages, CostModel.predict(model, cluster, policy, stages));
    }

    /** Best plan value under the policy, or null if none; used by diagnosis. */
    Label solve(ModelProfile model, ClusterSnapshot cluster, Policy policy) {
        Instance inst = new Instance(model, cluster, policy);
        return inst.n == 0 ? null : solve(inst);
    }

    // ---- decremental state-space relaxation -------------------------------------------------

    static Label solve(Instance inst) {
        int[] bit = new int[inst.n];
        Arrays.fill(bit, -1);
        int critical = 0;
        inst.computeCompletions();
        Incumbent incumbent = Incumbent.singleNode(inst);
        List<int[]> relaxed = inst.relaxedPlan();
        if (relaxed == null) {
            return null; // not even the relaxation has a plan
        }
        incumbent = incumbent.better(Incumbent.repair(inst, relaxed));
        incumbent = incumbent.better(Incumbent.beam(inst, inst.relaxedOptimum(), incumbent.value));
        // the backward program's optimum is the forward one's with nothing tracked: start from the nodes it
        // repeats, and from the incumbent's, which the optimum mostly uses too; later runs would find them one
        // by one (the set tracked first only changes how many runs there are, never the result)
        List<Integer> first = new ArrayList<>(repeated(relaxed));
        if (first.size() > MAX_CRITICAL) {
            throw new IllegalStateException("planner gave up: more than " + MAX_CRITICAL + " nodes to track");
        }
        if (incumbent.label != null) {
            for (int[] st : incumbent.label.stageList()) {
                if (first.size() < MAX_CRITICAL && !first.contains(st[0])) {
                    first.add(st[0]);
                }
            }
        }
        for (int v : first) {
            bit[v] = critical++;
        }
        while (true) {
            Label best = new Program(inst, bit, incumbent.value).run();
            if (best == null || best.obj >= incumbent.value) {
                return incumbent.label; // nothing beats the incumbent (null: no plan at all)
            }
            List<Integer> repeated = best.repeatedNodes();
            if (repeated.isEmpty()) {
                return best;
            }
            List<int[]> stages = best.stageList();
            incumbent = incumbent.better(Incumbent.repair(inst, stages));
            for (int v : repeated) {
                if (bit[v] >= 0) {
                    throw new IllegalStateException("node " + inst.nodes[v].id() + " repeats although tracked");
                }
            }
            // The bottleneck's relaxation reuses the fastest nodes one after another, one more each run:
            // tracking every node its optimum uses takes 2-3 runs where the repeated ones alone took 5-6
            List<Integer> track = new ArrayList<>(repeated);
            if (inst.bottleneck) {
                for (int[] st : stages) {
                    if (bit[st[0]] < 0 && !track.contains(st[0])) {
                        track.add(st[0]);
                    }
                }
                if (critical + track.size() > MAX_CRITICAL) {
                    track = repeated;
                }
            }
            for (int v : track) {
                if (critical == MAX_CRITICAL) {
                    throw new IllegalStateException("planner gave up: more than " + MAX_CRITICAL + " nodes to track");
                }
                bit[v] = critical++;
            }
        }
    }

    /** Nodes that host more than one of these stages {node, start, end}, ascending. */
    static List<Integer> repeated(List<int[]> stages) {
        int[] uses = new int[stages.stream().mapToInt(st -> st[0]).max().orElse(-1) + 1];
        TreeSet<Integer> out = new TreeSet<>();
        for (int[] st : stages) {
            if (++uses[st[0]] > 1) {
                out.add(st[0]);
            }
        }
        return List.copyOf(out);
    }

    /**
     * The best valid plan known, which prunes the program: a label whose bound is above it cannot
     * lead to a better plan. Found by cheap heuristics; optimality never depends on them.
     */
    record Incumbent(Label label, double value) {
        static final Incumbent NONE = new Incumbent(null, Double.POSITIVE_INFINITY);

        Incumbent better(Incumbent other) {
            return other.value < value ? other : this;
        }

        /**
         * The program tracking every node (the first 128) but keeping only the few cheapest labels
         * per state: valid plans, not always the best; repaired if a node past 128 repeats.
         */
        static Incumbent beam(Instance inst, double lowerBound, double cutoff) {
            int[] all = new int[inst.n];
            for (int v = 0; v < inst.n; v++) {
                all[v] = v < MAX_CRITICAL ? v : -1;
            }
            // first within a few percent of the lower bound, where the completion bounds prune almost every
            // label and a run that finds nothing is cheap; then wider, up to the incumbent
            for (double within : BEAM_STEPS) {
                double c = lowerBound > 0 && !Double.isInfinite(lowerBound) ? Math.min(cutoff, lowerBound * within) : cutoff;
                Label l = new Program(inst, all, c, 1).run();
                if (l != null) {
                    return repair(inst, l.stageList());
                }
                if (c >= cutoff) {
                    break;
                }
            }
            return NONE;
        }

        /** The whole model on one node, the best such. */
        static Incumbent singleNode(Instance inst) {
            Incumbent best = NONE;
            for (int v = 0; v < inst.n; v++) {
                best = best.better(of(inst, List.of(new int[] {v, 0, inst.blocks})));
            }
            return best;
        }

        /** The plan with each repeated use moved to the unused node that serves it best (on a copy). */
        static Incumbent repair(Instance inst, List<int[]> given) {
            List<int[]> stages = given.stream().map(int[]::clone).toList(); // the caller's stages stay as they are
            boolean[] used = new boolean[inst.n];
            boolean[] planned = new boolean[inst.n];
            stages.forEach(st -> planned[st[0]] = true);
            for (int s = 0; s < stages.size(); s++) {
                int[] st = stages.get(s);
                if (!used[st[0]]) {
                    used[st[0]] = true;
                    continue;
                }
                int bestNode = -1;
                double bestValue = Double.POSITIVE_INFINITY;
                for (int v = 0; v < inst.n; v++) {
                    if (used[v] || planned[v]) {
                        continue;
                    }
                    int[][] opts = inst.options(v, st[1], st[2]);
                    if (opts.length == 0) {
                        continue;
                    }
                    double value = inst.stageObjective(v, inst.compute(v, opts[0][0], st[1], st[2]), opts[0][1]);
                    if (value < bestValue) {
                        bestValue = value;
                        bestNode = v;
                    }
                }
                if (bestNode < 0) {
                    return NONE;
                }
                used[bestNode] = true;
                st[0] = bestNode;
            }
            return of(inst, stages);
        }

        /** Evaluates stages {node, start, end (exclusive)} with the cost model; NONE if invalid. */
        static Incumbent of(Instance inst, List<int[]> stages) {
            List<Stage> plan = new ArrayList<>();
            Label chain = null;
            for (int[] st : stages) {
                int[][] opts = inst.options(st[0], st[1], st[2]);
                if (opts.length == 0) {
                    return NONE;
                }
                // with SLO labels the options are every thread count; take the fastest for the heuristic
                int[] o = opts[0];
                for (int[] x : opts) {
                    if (inst.compute(st[0], x[0], st[1], st[2]) < inst.compute(st[0], o[0], st[1], st[2])) {
                        o = x;
                    }
                }
                plan.add(new Stage(inst.nodes[st[0]].id(), st[1], st[2] - 1, inst.threads[st[0]][o[0]], o[1]));
                chain = new Label(0, 0, 0, chain, st[0], st[1], st[2], o[0], o[1]);
            }
            if (CostModel.violation(NAME, inst.model, inst.cluster, inst.policy, plan) != null) {
                return NONE;
            }
            double value = CostModel.objective(inst.policy, CostModel.predict(inst.model, inst.cluster, inst.policy, plan));
            return new Incumbent(new Label(value, 0, 0, chain, -2, 0, 0, 0, 0), value);
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
        final double[] rest; // [i]: a lower bound on the objective share of blocks i.. (additive objectives)
        final double[] restMax; // [i]: a lower bound on the bottleneck of blocks i.. (throughput)
        // per stage budget k: relaxed optimum of blocks i.. in at most k stages, the first on v from i
        double[][][] toEnd;
        // per budget k: relaxed optimum after a stage on v that ends before block j, k stages left
        double[][][] afterStage;
        int[][][] toEndCut; // where that first stage ends
        int[][][] afterStageNext; // the node that follows
        // [v][i][j - i - 1]: bestOption(v, i, j) for every j before the first that does not fit (which
        // ends the row: more blocks only need more memory and time)
        final long[][][] bestOptions;

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
            // every block runs somewhere: at best on the node and thread count where it costs least
            rest = new double[blocks + 1];
            restMax = new double[blocks + 1];
            for (int b = blocks - 1; b >= 0; b--) {
                double least = Double.POSITIVE_INFINITY;
                for (int v = 0; v < n; v++) {
                    for (int t = 0; t < threads[v].length; t++) {
                        double time = timePrefix[v][t][b + 1] - timePrefix[v][t][b];
                        int replicas = Math.max(1, nodes[v].cores() / threads[v][t]);
                        least = Math.min(least, bottleneck ? time / replicas : stageObjective(v, time, 1));
                    }
                }
                least = n == 0 ? 0 : least;
                rest[b] = rest[b + 1] + (bottleneck ? 0 : least);
                restMax[b] = Math.max(restMax[b + 1], bottleneck ? least : 0);
            }
            bestOptions = new long[n][blocks][];
            long[] row = new long[blocks];
            for (int v = 0; v < n; v++) {
                for (int i = 0; i < blocks; i++) {
                    int len = 0;
                    for (int j = i + 1; j <= blocks; j++) {
                        long o = bestOption(v, i, j);
                        if (o < 0) {
                            break;
                        }
                        row[len++] = o;
                    }
                    bestOptions[v][i] = Arrays.copyOf(row, len);
                }
            }
        }

        /** {@link #bestOption} from the table. */
        long best(int v, int i, int j) {
            long[] row = bestOptions[v][i];
            int k = j - i - 1;
            return k < row.length ? row[k] : -1;
        }

        /**
         * The relaxed program backwards, once per problem: the best completion from every (block,
         * node), ignoring the stage limit and node reuse. It bounds the forward program from below
         * (A*-style) and its optimum, repaired, is the first incumbent.
         */
        void computeCompletions() {
            int budgets = maxStages + 1;
            toEnd = new double[budgets][blocks + 1][n];
            afterStage = new double[budgets][blocks + 1][n];
            toEndCut = new int[budgets][blocks + 1][n];
            afterStageNext = new int[budgets][blocks + 1][n];
            for (int k = 0; k < budgets; k++) {
                for (double[] row : toEnd[k]) {
                    Arrays.fill(row, Double.POSITIVE_INFINITY);
                }
                for (double[] row : afterStage[k]) {
                    Arrays.fill(row, Double.POSITIVE_INFINITY);
                }
                for (int v = 0; v < n; v++) {
                    afterStage[k][blocks][v] = hopObjective(v, n, outBytes);
                    afterStageNext[k][blocks][v] = -1;
                }
            }
            double[] stage = new double[blocks + 1];
            // blocks descending, budgets inside: a stage's objective is computed once for every budget,
            // and what follows a stage ending at j > i is known for every budget by then
            for (int i = blocks - 1; i >= 0; i--) {
                for (int v = 0; v < n; v++) {
                    long[] row = bestOptions[v][i];
                    for (int j = i + 1; j <= i + row.length; j++) {
                        long o = row[j - i - 1];
                        stage[j] = stageObjective(v, compute(v, (int) (o >>> 32), i, j), (int) o);
                    }
                    for (int k = 1; k < budgets; k++) {
                        double[][] after = afterStage[k - 1];
                        double best = Double.POSITIVE_INFINITY;
                        int cut = -1;
                        for (int j = i + 1; j <= i + row.length; j++) {
                            if (stage[j] >= best) {
                                break; // the stage alone costs more than the best completion, and grows with j
                            }
                            double value = combine(stage[j], after[j][v]);
                            if (value < best) {
                                best = value;
                                cut = j;
                            }
                        }
                        toEnd[k][i][v] = best;
                        toEndCut[k][i][v] = cut;
                    }
                }
                if (i == 0) {
                    continue;
                }
                for (int k = 1; k < budgets; k++) {
                    double[] into = toEnd[k][i];
                    for (int v = 0; v < n; v++) {
                        double best = Double.POSITIVE_INFINITY;
                        int next = -1;
                        for (int w = 0; w < n; w++) {
                            if (w == v || into[w] >= best) {
                                continue; // a hop costs >= 0: the stage after it alone is no better
                            }
                            double value = combine(hopObjective(v, w, bytesBefore[i]), into[w]);
                            if (value < best) {
                                best = value;
                                next = w;
                            }
                        }
                        afterStage[k][i][v] = best;
                        afterStageNext[k][i][v] = next;
                    }
                }
            }
        }

        /** The relaxation's optimum: a lower bound on every plan's objective (infinite: no plan). */
        double relaxedOptimum() {
            double best = Double.POSITIVE_INFINITY;
            for (int w = 0; w < n; w++) {
                best = Math.min(best, combine(hopObjective(n, w, bytesBefore[0]), toEnd[maxStages][0][w]));
            }
            return best;
        }

        /** The backward program's best plan as {node, start, end (exclusive)} stages, or null. */
        List<int[]> relaxedPlan() {
            double best = Double.POSITIVE_INFINITY;
            int v = -1;
            int k = maxStages;
            for (int w = 0; w < n; w++) {
                double value = combine(hopObjective(n, w, bytesBefore[0]), toEnd[k][0][w]);
                if (value < best) {
                    best = value;
                    v = w;
                }
            }
            if (v < 0) {
                return null;
            }
            List<int[]> stages = new ArrayList<>();
            int i = 0;
            while (i < blocks) {
                int j = toEndCut[k][i][v];
                stages.add(new int[] {v, i, j});
                k--;
                if (j < blocks) {
                    v = afterStageNext[k][j][v];
                }
                i = j;
            }
            return stages;
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
            int maxByMemory = maxByMemory(v, i, j);
            if (maxByMemory < 1) {
                return NONE;
            }
            if (!labels) {
                long best = best(v, i, j);
                return best < 0 ? NONE : new int[][] {{(int) (best >>> 32), (int) best}};
            }
            int[][] all = new int[threads[v].length][];
            int count = 0;
            for (int t = 0; t < threads[v].length; t++) {
                int replicas = replicas(v, t, i, j, maxByMemory);
                if (replicas > 0) {
                    all[count++] = new int[] {t, replicas};
                }
            }
            return count == 0 ? NONE : Arrays.copyOf(all, count);
        }

        /** Replicas of v on blocks [i, j) the memory allows (0: not even one). */
        int maxByMemory(int v, int i, int j) {
            long mem = memPrefix[j] - memPrefix[i];
            return mem == 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, nodes[v].memoryBytes() / mem);
        }

        /**
         * Replicas for thread option t: as many as fit for throughput, else the fewest that meet
         * the throughput bound; 0 when none fits.
         */
        int replicas(int v, int t, int i, int j, int maxByMemory) {
            int maxReplicas = Math.min(nodes[v].cores() / threads[v][t], maxByMemory);
            if (maxReplicas < 1) {
                return 0;
            }
            double compute = timePrefix[v][t][j] - timePrefix[v][t][i];
            int replicas = bottleneck ? maxReplicas : compute <= maxBottleneckMs ? 1 : (int) Math.ceil(compute / maxBottleneckMs);
            while (replicas <= maxReplicas && compute / replicas > maxBottleneckMs) {
                replicas++;
            }
            return replicas > maxReplicas ? 0 : replicas;
        }

        /**
         * The (thread option, replicas) with the least stage objective, fewer threads on ties, packed
         * as option << 32 | replicas; -1 if none fits. Allocation-free: the program's inner loop.
         */
        long bestOption(int v, int i, int j) {
            int maxByMemory = maxByMemory(v, i, j);
            if (maxByMemory < 1) {
                return -1;
            }
            long best = -1;
            double bestValue = Double.POSITIVE_INFINITY;
            for (int t = 0; t < threads[v].length; t++) {
                int replicas = replicas(v, t, i, j, maxByMemory);
                if (replicas == 0) {
                    continue;
                }
                double value = stageObjective(v, timePrefix[v][t][j] - timePrefix[v][t][i], replicas);
                if (value < bestValue) { // options ascend in threads: ties keep fewer
                    bestValue = value;
                    best = ((long) t << 32) | replicas;
                }
            }
            return best;
        }

        double compute(int v, int option, int i, int j) {
            return timePrefix[v][option][j] - timePrefix[v][option][i];
        }
    }

    private static final int[][] NONE = new int[0][];

    // ---- labels ----------------------------------------------------------------------------

    /**
     * A partial plan: the last stage (node v, blocks [start, end)) and the plan before it, with the
     * critical nodes it uses as a bit mask.
     */
    static final class Label {
        final double obj;
        final double lat;
        final long mask;
        final long mask2; // nodes with bits 64..127
        final Label prev;
        final int node;
        final int start;
        final int end;
        final int option;
        final int replicas;

        Label(double obj, double lat, long mask, Label prev, int node, int start, int end, int option, int replicas) {
            this(obj, lat, mask, 0, prev, node, start, end, option, replicas);
        }

        Label(double obj, double lat, long mask, long mask2, Label prev, int node, int start, int end, int option,
                int replicas) {
            this.obj = obj;
            this.lat = lat;
            this.mask = mask;
            this.mask2 = mask2;
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

        /** Stages as {node, start, end (exclusive)}. */
        List<int[]> stageList() {
            List<int[]> stages = new ArrayList<>();
            for (Label l = this; l != null; l = l.prev) {
                if (l.node >= 0) {
                    stages.addFirst(new int[] {l.node, l.start, l.end});
                }
            }
            return stages;
        }

        /** Nodes that host more than one stage, ascending. */
        List<Integer> repeatedNodes() {
            return repeated(stageList());
        }
    }

    /**
     * Labels no other label of the same state dominates: lower or equal objective, latency (Pareto
     * mode only) and set of critical nodes used. Without Pareto mode and critical nodes it holds one.
     */
    static final class Front {
        final List<Label> labels = new ArrayList<>(4);

        static boolean subset(Label a, Label b) {
            return (a.mask & ~b.mask) == 0 && (a.mask2 & ~b.mask2) == 0;
        }

        /** @param beam most labels kept (the cheapest), or 0 to keep every non-dominated one */
        boolean offer(Label l, boolean pareto, int beam) {
            // one pass: a label that dominates l is met before l has removed any (the front is an
            // antichain: what l dominates, a label dominating l would dominate too)
            int kept = 0;
            for (int k = 0, size = labels.size(); k < size; k++) {
                Label x = labels.get(k);
                if (x.obj <= l.obj && (!pareto || x.lat <= l.lat) && subset(x, l)) {
                    return false;
                }
                if (!(l.obj <= x.obj && (!pareto || l.lat <= x.lat) && subset(l, x))) {
                    labels.set(kept++, x);
                }
            }
            for (int k = labels.size() - 1; k >= kept; k--) {
                labels.remove(k);
            }
            labels.add(l);
            if (beam > 0 && labels.size() > beam) {
                Label worst = labels.getFirst();
                for (Label x : labels) {
                    if (x.obj > worst.obj) {
                        worst = x;
                    }
                }
                labels.remove(worst);
            }
            return true;
        }

        boolean offer(Label l, boolean pareto) {
            return offer(l, pareto, 0);
        }
    }

    // ---- the dynamic program ---------------------------------------------------------------

    /** One run of the program, tracking the use of the nodes with a bit. */
    static final class Program {
        private final Instance inst;
        private final int[] bit;
        private final double cutoff;
        private final int beam;
        // bottleneck: per node the most blocks one stage on it can hold below the cutoff, and the nodes by it
        private final int[] capacity;
        private final int[] byCapacity;
        private final long[] bits; // per node its bit in the masks, for the capacity bound's inner loop
        private final long[] bits2;

        /**
         * @param bit per node its bit in the masks, or -1 when its use is not tracked
         * @param incumbent value of a known valid plan: labels that cannot end below it are dropped
         */
        Program(Instance inst, int[] bit, double incumbent) {
            this(inst, bit, incumbent, 0);
        }

        /** @param beam labels kept per state: 0 for the exact program, else a heuristic (see {@link Incumbent#beam}) */
        Program(Instance inst, int[] bit, double incumbent, int beam) {
            this.inst = inst;
            this.bit = bit;
            // only plans better than the incumbent matter (ties included: the incumbent already has that
            // value), which matters most for the bottleneck objective, where many partial plans tie
            this.cutoff = Double.isInfinite(incumbent) ? incumbent : incumbent - 1e-9 * Math.abs(incumbent);
            this.beam = beam;
            if (inst.bottleneck && !Double.isInfinite(cutoff)) {
                capacity = new int[inst.n];
                for (int v = 0; v < inst.n; v++) {
                    for (int i = 0; i < inst.blocks; i++) {
                        long[] row = inst.bestOptions[v][i];
                        int lo = 0; // stage values grow with the blocks: the longest stage from i below the cutoff, by bisection
                        int hi = row.length;
                        while (lo < hi) {
                            int mid = (lo + hi + 1) >>> 1;
                            long o = row[mid - 1];
                            if (inst.stageObjective(v, inst.compute(v, (int) (o >>> 32), i, i + mid), (int) o) < cutoff) {
                                lo = mid;
                            } else {
                                hi = mid - 1;
                            }
                        }
                        capacity[v] = Math.max(capacity[v], lo);
                    }
                }
                byCapacity = java.util.stream.IntStream.range(0, inst.n).boxed()
                        .sorted((a, b) -> Integer.compare(capacity[b], capacity[a])).mapToInt(Integer::intValue).toArray();
                bits = new long[inst.n];
                bits2 = new long[inst.n];
                for (int v = 0; v < inst.n; v++) {
                    bits[v] = maskOf(v);
                    bits2[v] = mask2Of(v);
                }
            } else {
                capacity = null;
                byCapacity = null;
                bits = null;
                bits2 = null;
            }
        }

        /**
         * The bottleneck of a label raised to the least bottleneck any completion of it can have: the
         * final value max(obj, completion) is the same for every obj below that bound, so such labels
         * are equal and dominance by the critical nodes used can remove more of them. Other
         * objectives are sums and keep their value.
         */
        private double atLeast(double obj, double completion) {
            return inst.bottleneck && completion > obj && !Double.isInfinite(completion) ? completion : obj;
        }

        /** A lower bound on any plan that extends a label of this value at block i. */
        private double bound(double obj, int i) {
            return inst.bottleneck ? Math.max(obj, inst.restMax[i]) : obj + inst.rest[i];
        }

        /**
         * Bottleneck only: whether the blocks from j can still be held below the cutoff by at most
         * {@code left} more stages on distinct nodes other than v and those the masks mark used, each
         * holding at most its node's capacity. A bound for the real problem, where every node hosts
         * one stage (untracked nodes count as free): the optimal plan's prefixes always pass it, so the
         * program may drop what fails it and stays exact (planner.md).
         */
        private boolean coverable(long mask, long mask2, int v, int j, int left) {
            int need = inst.blocks - j;
            if (capacity == null || need == 0) {
                return true;
            }
            int taken = 0;
            for (int u : byCapacity) {
                if (taken == left || capacity[u] == 0) {
                    return false;
                }
                if (u == v || (bits[u] & mask) != 0 || (bits2[u] & mask2) != 0) {
                    continue;
                }
                need -= capacity[u];
                if (need <= 0) {
                    return true;
                }
                taken++;
            }
            return false;
        }

        private long maskOf(int v) {
            return bit[v] < 0 || bit[v] >= 64 ? 0 : 1L << bit[v];
        }

        private long mask2Of(int v) {
            return bit[v] < 64 ? 0 : 1L << (bit[v] - 64);
        }

        Label run() {
            int n = inst.n;
            int blocks = inst.blocks;
            boolean pareto = inst.labels;
            Front[][] current = new Front[blocks + 1][n];
            Front finals = new Front();
            for (int v = 0; v < n; v++) {
                double hopObj = inst.hopObjective(n, v, inst.bytesBefore[0]);
                if (Double.isInfinite(hopObj)) {
                    continue;
                }
                double hopLat = inst.transfer(n, v, inst.bytesBefore[0]);
                if (bound(hopObj, 0) >= cutoff || inst.combine(hopObj, inst.toEnd[inst.maxStages][0][v]) >= cutoff) {
                    continue;
                }
                Label start = new Label(hopObj, hopLat, 0, null, -1, 0, 0, 0, 0);
                for (int j = 1; j <= blocks; j++) {
                    if (!extend(current, v, 0, j, start, pareto, inst.maxStages - 1)) {
                        break;
                    }
                }
            }
            for (int k = 1; k <= inst.maxStages; k++) {
                collectFinals(current, finals, pareto);
                if (k == inst.maxStages) {
                    break;
                }
                Front[][] next = new Front[blocks + 1][n];
                boolean any = false;
                int[] ending = new int[n];
                for (int i = 1; i < blocks; i++) {
                    int count = 0; // nodes with partial plans ending before block i: most states are pruned
                    for (int m = 0; m < n; m++) {
                        if (current[i][m] != null) {
                            ending[count++] = m;
                        }
                    }
                    if (count == 0) {
                        continue;
                    }
                    for (int v = 0; v < n; v++) {
                        Front in = bestInto(current, i, v, pareto, inst.maxStages - k, ending, count);
                        if (in == null) {
                            continue;
                        }
                        any = true;
                        for (Label from : in.labels) {
                            for (int j = i + 1; j <= blocks; j++) {
                                if (!extend(next, v, i, j, from, pareto, inst.maxStages - k - 1)) {
                                    break;
                                }
                            }
                        }
                    }
                }
                if (!any) {
                    break;
                }
                current = next;
            }
            Label best = null;
            for (Label l : finals.labels) {
                if (l.lat <= inst.slo * (1 + 1e-12) && (best == null || l.obj < best.obj
                        || (l.obj == best.obj && Long.compareUnsigned(l.mask, best.mask) < 0))) {
                    best = l;
                }
            }
            return best;
        }

        /** Labels ending at i-1 on any node other than v that have not used v, plus the hop into v. */
        /** @param left stages the plan may still add, this one included */
        private Front bestInto(Front[][] current, int i, int v, boolean pareto, int left, int[] ending, int count) {
            if (Double.isInfinite(inst.toEnd[left][i][v])) {
                return null; // no way to finish from a stage on v at block i
            }
            Front in = null;
            long vMask = maskOf(v);
            long vMask2 = mask2Of(v);
            for (int e = 0; e < count; e++) {
                int m = ending[e];
                Front f = current[i][m];
                if (m == v) {
                    continue;
                }
                double hopObj = inst.hopObjective(m, v, inst.bytesBefore[i]);
                if (Double.isInfinite(hopObj)) {
                    continue;
                }
                double hopLat = inst.transfer(m, v, inst.bytesBefore[i]);
                for (Label l : f.labels) {
                    if ((l.mask & vMask) != 0 || (l.mask2 & vMask2) != 0) {
                        continue;
                    }
                    double lat = l.lat + hopLat;
                    if (lat > inst.slo * (1 + 1e-12)) {
                        continue;
                    }
                    double obj = inst.combine(l.obj, hopObj);
                    if (bound(obj, i) >= cutoff || inst.combine(obj, inst.toEnd[left][i][v]) >= cutoff) {
                        continue;
                    }
                    if (!coverable(l.mask, l.mask2, -1, i, left)) {
                        continue; // (v is free: its bit is not in the mask)
                    }
                    Label via = new Label(atLeast(obj, inst.toEnd[left][i][v]), lat, l.mask, l.mask2, l, -1, i, i, 0, 0);
                    if (in == null) {
                        in = new Front();
                    }
                    in.offer(via, pareto, beam);
                }
            }
            return in;
        }

        /**
         * Adds stages on v over blocks [i, j) after {@code from}. Returns false when no longer stage
         * from i can be useful: out of memory, under the throughput bound, or bound to end above the
         * incumbent (all only get worse with j).
         */
        private final int[][] one = new int[1][2];

        /** A reused one-option array (the program is single-threaded). */
        private int[][] single(int option, int replicas) {
            one[0][0] = option;
            one[0][1] = replicas;
            return one;
        }

        /** @param left stages the plan may still add after this one */
        private boolean extend(Front[][] target, int v, int i, int j, Label from, boolean pareto, int left) {
            int[][] opts;
            if (pareto) {
                opts = inst.options(v, i, j);
            } else {
                long best = inst.best(v, i, j);
                opts = best < 0 ? NONE : single((int) (best >>> 32), (int) best);
            }
            if (opts.length == 0) {
                return false;
            }
            long mask = from.mask | maskOf(v);
            long mask2 = from.mask2 | mask2Of(v);
            boolean longer = false;
            for (int[] o : opts) {
                double compute = inst.compute(v, o[0], i, j);
                double obj = inst.combine(from.obj, inst.stageObjective(v, compute, o[1]));
                // the objective plus the bound of the rest only grows with j (throughput: the objective alone)
                if ((inst.bottleneck ? obj : obj + inst.rest[j]) >= cutoff) {
                    continue;
                }
                longer = true;
                if (bound(obj, j) >= cutoff || inst.combine(obj, inst.afterStage[left][j][v]) >= cutoff) {
                    continue;
                }
                double lat = from.lat + compute;
                if (lat > inst.slo * (1 + 1e-12)) {
                    continue;
                }
                if (!coverable(mask, mask2, v, j, left)) {
                    continue;
                }
                obj = atLeast(obj, inst.afterStage[left][j][v]);
                Front f = target[j][v];
                if (f == null) {
                    f = new Front();
                    target[j][v] = f;
                } else if (!pareto && f.labels.size() == 1 && obj >= f.labels.getFirst().obj
                        && (f.labels.getFirst().mask & ~mask) == 0 && (f.labels.getFirst().mask2 & ~mask2) == 0) {
                    continue; // dominated: checked before allocating the label
                }
                // skip the hop label in the chain: link straight to the previous stage
                Label prev = from.node < 0 ? from.prev : from;
                f.offer(new Label(obj, lat, mask, mask2, prev, v, i, j, o[0], o[1]), pareto, beam);
            }
            return longer;
        }

        private void collectFinals(Front[][] current, Front finals, boolean pareto) {
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
                    if (l.lat + hopLat > inst.slo * (1 + 1e-12)) {
                        continue;
                    }
                    finals.offer(new Label(inst.combine(l.obj, hopObj), l.lat + hopLat, 0, l, -2, 0, 0, 0, 0), pareto);
                }
            }
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
