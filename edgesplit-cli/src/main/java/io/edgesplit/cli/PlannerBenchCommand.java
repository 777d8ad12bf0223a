package io.edgesplit.cli;

import io.edgesplit.core.plan.BruteForcePlanner;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.RandomProblems;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit bench planner}: plan time over a grid of sizes, and optimality against brute force. */
@Command(name = "planner", description = "Plan time over blocks x nodes (medians) and an optimality check against brute force.")
final class PlannerBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--blocks", split = ",", paramLabel = "B", description = "block counts. Default: 24,48,100,200")
    List<Integer> blocks = List.of(24, 48, 100, 200);

    @Option(names = "--nodes", split = ",", paramLabel = "N", description = "node counts. Default: 4,16,64,128")
    List<Integer> nodes = List.of(4, 16, 64, 128);

    @Option(names = "--objectives", split = ",", paramLabel = "O", description = "objectives. Default: latency,throughput")
    List<String> objectives = List.of("latency", "throughput");

    @Option(names = "--problems", paramLabel = "N", description = "random problems per grid point. Default: ${DEFAULT-VALUE}")
    int problems = 3;

    @Option(names = "--check-instances", paramLabel = "N",
            description = "small random problems (<= 8 blocks x 5 nodes) checked against brute force. Default: ${DEFAULT-VALUE}")
    int checkInstances = 1000;

    @Option(names = "--seed", paramLabel = "S", description = "seed of the random problems. Default: ${DEFAULT-VALUE}")
    long seed = 1;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ExactPlanner planner = new ExactPlanner();
        List<Map<String, Object>> grid = new ArrayList<>();
        if (!json) {
            out.printf(Locale.ROOT, "%-11s %7s %6s %14s %14s %8s%n", "objective", "blocks", "nodes", "median ms", "max ms", "stages");
        }
        // the planner runs inside a long-lived orchestrator: time it with the JIT warm, as it runs there
        Random warm = new Random(seed - 1);
        for (int i = 0; i < 40; i++) {
            RandomProblems.Problem p = RandomProblems.large(warm, 48, 16, i % 2 == 0 ? Objective.LATENCY : Objective.THROUGHPUT);
            planner.plan(p.model(), p.cluster(), p.policy());
        }
        for (String o : objectives) {
            Objective objective = Objective.parse(o);
            for (int b : blocks) {
                for (int n : nodes) {
                    Random rnd = new Random(seed * 1_000_003L + b * 131L + n);
                    double[] ms = new double[problems];
                    int stages = 0;
                    int feasible = 0;
                    for (int i = 0; i < problems; i++) {
                        RandomProblems.Problem p = RandomProblems.large(rnd, b, n, objective);
                        planner.plan(p.model(), p.cluster(), p.policy()); // warm-up (JIT)
                        long t0 = System.nanoTime();
                        PlanResult r = planner.plan(p.model(), p.cluster(), p.policy());
                        ms[i] = (System.nanoTime() - t0) / 1e6;
                        if (r instanceof PlanResult.Plan plan) {
                            stages = Math.max(stages, plan.stages().size());
                            feasible++;
                        }
                    }
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("objective", o);
                    row.put("blocks", b);
                    row.put("nodes", n);
                    row.put("problems", problems);
                    row.put("feasible", feasible);
                    row.put("plan_ms_median", io.edgesplit.core.stats.Median.of(ms));
                    row.put("plan_ms_max", Arrays.stream(ms).max().orElse(0));
                    row.put("max_stages_used", stages);
                    grid.add(row);
                    if (!json) {
                        out.printf(Locale.ROOT, "%-11s %7d %6d %14.3f %14.3f %8d%n", o, b, n, io.edgesplit.core.stats.Median.of(ms),
                                Arrays.stream(ms).max().orElse(0), stages);
                        out.flush();
                    }
                }
            }
        }
        Map<String, Object> check = optimality(checkInstances, seed);
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("benchmark", "planner");
            root.put("grid", grid);
            root.put("optimality", check);
            root.put("instances", check.get("instances"));
            root.put("mismatches", check.get("mismatches"));
            root.put("machine", BenchCommand.machine());
            out.println(Json.write(root));
        } else {
            out.printf(Locale.ROOT, "%noptimality vs brute force: %s instances (%s feasible), %s mismatches%n",
                    check.get("instances"), check.get("feasible"), check.get("mismatches"));
        }
        return ((Integer) check.get("mismatches")) == 0 ? EdgeSplitCli.OK : EdgeSplitCli.CHECK_FAILED;
    }

    static Map<String, Object> optimality(int instances, long seed) {
        Random rnd = new Random(seed);
        int mismatches = 0;
        int feasible = 0;
        List<String> examples = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            RandomProblems.Problem p = RandomProblems.small(rnd);
            PlanResult exact = new ExactPlanner().plan(p.model(), p.cluster(), p.policy());
            PlanResult brute = new BruteForcePlanner().plan(p.model(), p.cluster(), p.policy());
            boolean same;
            if (brute instanceof PlanResult.Plan bp) {
                feasible++;
                double optimum = CostModel.objective(p.policy(), bp.predicted());
                same = exact instanceof PlanResult.Plan ep
                        && CostModel.violation("check", p.model(), p.cluster(), p.policy(), ep.stages()) == null
                        && Math.abs(CostModel.objective(p.policy(), ep.predicted()) - optimum) <= 1e-9 * Math.max(1, Math.abs(optimum));
            } else {
                same = exact instanceof PlanResult.Infeasible;
            }
            if (!same) {
                mismatches++;
                if (examples.size() < 5) {
                    examples.add("instance " + i + ": " + exact + " vs " + brute);
                }
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("instances", instances);
        m.put("feasible", feasible);
        m.put("mismatches", mismatches);
        m.put("mismatch_examples", examples);
        return m;
    }

}
