package io.edgesplit.cli;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.cli.config.ProfileFile;
import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Planner;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.PrivacyClass;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.core.plan.baseline.Baselines;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.profile.BlockProfiler;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code edgesplit plan}: the optimal plan for a model on a cluster, with every baseline beside it. */
@Command(name = "plan", description = "Place a model's blocks on a cluster's nodes; compare with the peers' policies.")
final class PlanCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--cluster", required = true, paramLabel = "FILE", description = "cluster YAML (see examples/)")
    Path cluster;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "an .onnx file or builtin:NAME")
    String model;

    @Option(names = "--objective", paramLabel = "O", description = "latency, throughput, energy, cost or weighted "
            + "(default: the cluster file's policy, else latency)")
    String objective;

    @Option(names = "--privacy-class", paramLabel = "C", description = "a privacy class of the cluster file")
    String privacyClass;

    @Option(names = "--slo-ms", paramLabel = "MS", description = "latency bound per request")
    Double sloMs;

    @Option(names = "--min-throughput", paramLabel = "RPS", description = "throughput bound, requests per second")
    Double minThroughput;

    @Option(names = "--max-stages", paramLabel = "N", description = "most stages in the plan")
    Integer maxStages;

    @Option(names = "--kv-tokens", paramLabel = "N", description = "KV cache tokens each stage must hold room for")
    Long kvTokens;

    @Option(names = "--sequence", paramLabel = "N",
            description = "tokens per request. Default: 32 for encoders, 1 (a decode step) for decoders")
    Integer sequence;

    @Option(names = "--past", paramLabel = "N", description = "decoders: tokens in the KV cache. Default: ${DEFAULT-VALUE}")
    int past = 64;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() {
        ClusterFile file = ClusterFile.read(cluster);
        ModelArgs args = new ModelArgs();
        args.model = model;
        args.common = common;
        AnalyzedModel am = args.analyze();
        DimValues dims = ProfileCommand.dims(am, 1, sequence, past);
        long units = "token".equals(am.profile().unit()) ? dims.batch() * dims.sequence() : dims.batch();
        PrintWriter err = spec.commandLine().getErr();
        Map<Integer, double[]>[] here = new Map[1];
        int maxCores = file.nodes().stream().mapToInt(ClusterFile.NodeSpec::cores).max().orElse(1);
        ClusterSnapshot snapshot = file.snapshot(am.profile(), units, m -> {
            Map<Integer, double[]> base;
            if (m.profile() == null) {
                if (here[0] == null) {
                    if (!json) {
                        err.println("measuring " + am.name() + " on this machine for the nodes with 'profile: measure'");
                        err.flush();
                    }
                    here[0] = measure(am, dims, maxCores);
                }
                base = here[0];
            } else {
                ProfileFile.Times t = ProfileFile.read(m.profile(), am.blockCount());
                if (t.unitsPerRequest() != units) {
                    throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "profile " + m.profile() + " was measured at "
                            + t.unitsPerRequest() + " units per request; this plan uses " + units + " (--sequence)");
                }
                base = t.blockMs();
            }
            Map<Integer, double[]> scaled = new TreeMap<>();
            base.forEach((threads, ms) -> scaled.put(threads, java.util.Arrays.stream(ms).map(x -> x / m.speed()).toArray()));
            return scaled;
        });
        Policy policy = policy(file).withUnitsPerRequest(units);
        long t0 = System.nanoTime();
        PlanResult result = new ExactPlanner().plan(am.profile(), snapshot, policy);
        double planMs = (System.nanoTime() - t0) / 1e6;
        Map<String, PlanResult> baselines = new LinkedHashMap<>();
        for (Planner b : Baselines.all()) {
            baselines.put(b.name(), b.plan(am.profile(), snapshot, policy));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(json(am, file, policy, units, result, planMs, baselines)));
        } else {
            print(out, am, file, policy, units, result, planMs, baselines);
        }
        return result instanceof PlanResult.Plan ? EdgeSplitCli.OK : EdgeSplitCli.CHECK_FAILED;
    }

    private Policy policy(ClusterFile file) {
        Policy p = file.policy();
        if (objective != null) {
            p = p.withObjective(Objective.parse(objective));
        }
        if (privacyClass != null) {
            PrivacyClass c = file.privacyClasses().get(privacyClass);
            if (c == null) {
                throw EdgeSplitException.invalidArgument("--privacy-class: '" + privacyClass + "' is not a class of "
                        + cluster.getFileName() + " (classes: " + file.privacyClasses().keySet() + ")");
            }
            p = p.withPrivacy(c);
        }
        if (sloMs != null) {
            p = p.withSlo(sloMs);
        }
        if (minThroughput != null) {
            p = p.withMinThroughput(minThroughput);
        }
        if (maxStages != null) {
            p = p.withMaxStages(maxStages);
        }
        if (kvTokens != null) {
            p = p.withKvTokens(kvTokens);
        }
        return p;
    }

    /** Block times on this machine at 1..min(cores, processors) threads: the base of 'profile: measure' nodes. */
    static Map<Integer, double[]> measure(AnalyzedModel am, DimValues dims, int maxCores) {
        return measure(am, dims, IntStream.rangeClosed(1, Math.min(maxCores, Runtime.getRuntime().availableProcessors()))
                .boxed().toList());
    }

    /** Block times on this machine at each of {@code threads} (3 untimed runs, medians of 9). */
    static Map<Integer, double[]> measure(AnalyzedModel am, DimValues dims, List<Integer> threads) {
        BlockProfiler.NodeBlockProfile p = BlockProfiler.profile(am, new BlockProfiler.Options(threads, dims, 3, 9, Set.of()),
                s -> { });
        Map<Integer, double[]> out = new HashMap<>();
        for (BlockProfiler.ThreadProfile t : p.profiles()) {
            out.put(t.threads(), t.blockMs());
        }
        return out;
    }

    static List<Map<String, Object>> stagesJson(List<Stage> stages) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Stage s : stages) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", s.node().value());
            m.put("first_block", s.firstBlock());
            m.put("last_block", s.lastBlock());
            m.put("threads", s.threads());
            m.put("replicas", s.replicas());
            out.add(m);
        }
        return out;
    }

    static Map<String, Object> predictedJson(io.edgesplit.core.plan.Prediction p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("latency_ms", Json.finite(p.latencyMs()));
        m.put("throughput_rps", Json.finite(p.throughputRps()));
        m.put("energy_j", Json.finite(p.energyJ()));
        m.put("cost", Json.finite(p.cost()));
        return m;
    }

    static Map<String, Object> infeasibleJson(PlanResult.Infeasible i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("constraint", i.constraint());
        m.put("reason", i.reason());
        return m;
    }

    private static Map<String, Object> json(AnalyzedModel am, ClusterFile file, Policy policy, long units, PlanResult result,
            double planMs, Map<String, PlanResult> baselines) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", am.name());
        root.put("cluster", file.name());
        root.put("emulated_nodes", file.emulatedNodes().stream().map(Object::toString).toList());
        root.put("objective", policy.objective().name().toLowerCase(Locale.ROOT));
        root.put("privacy_class", policy.privacy() == null ? null : policy.privacy().name());
        root.put("units_per_request", units);
        if (result instanceof PlanResult.Plan p) {
            root.put("plan", stagesJson(p.stages()));
            root.put("predicted", predictedJson(p.predicted()));
        } else {
            root.put("plan", null);
            root.put("predicted", null);
            root.put("infeasible", infeasibleJson((PlanResult.Infeasible) result));
        }
        root.put("plan_time_ms", planMs);
        Map<String, Object> predicted = new LinkedHashMap<>();
        Map<String, Object> plans = new LinkedHashMap<>();
        Map<String, Object> infeasible = new LinkedHashMap<>();
        baselines.forEach((name, r) -> {
            switch (r) {
                case PlanResult.Plan p -> {
                    predicted.put(name, predictedJson(p.predicted()));
                    plans.put(name, stagesJson(p.stages()));
                }
                case PlanResult.Infeasible i -> {
                    predicted.put(name, null);
                    infeasible.put(name, infeasibleJson(i));
                }
            }
        });
        root.put("baselines", predicted);
        root.put("baseline_plans", plans);
        root.put("baseline_infeasible", infeasible);
        return root;
    }

    private static void print(PrintWriter out, AnalyzedModel am, ClusterFile file, Policy policy, long units, PlanResult result,
            double planMs, Map<String, PlanResult> baselines) {
        out.printf(Locale.ROOT, "%s on %s (%d nodes%s), objective %s%s, %d %s(s) per request%n", am.name(), file.name(),
                file.nodes().size(), file.emulatedNodes().isEmpty() ? "" : "; EMULATED nodes: " + file.emulatedNodes(),
                policy.objective().name().toLowerCase(Locale.ROOT),
                policy.privacy() == null ? "" : ", privacy class " + policy.privacy().name(), units, am.profile().unit());
        switch (result) {
            case PlanResult.Plan p -> {
                out.printf(Locale.ROOT, "plan (%.2f ms to compute):%n", planMs);
                out.printf(Locale.ROOT, "  %-16s %-8s %8s %9s%n", "node", "blocks", "threads", "replicas");
                for (Stage s : p.stages()) {
                    out.printf(Locale.ROOT, "  %-16s %-8s %8d %9d%n", s.node(), s.firstBlock() + "-" + s.lastBlock(),
                            s.threads(), s.replicas());
                }
            }
            case PlanResult.Infeasible i -> out.printf("no plan: [%s] %s%n", i.constraint(), i.reason());
        }
        out.printf(Locale.ROOT, "%n%-20s %12s %14s %10s %12s  %s%n", "planner", "latency ms", "throughput/s", "energy J",
                "cost", "stages");
        Map<String, PlanResult> all = new LinkedHashMap<>();
        all.put(ExactPlanner.NAME, result);
        all.putAll(baselines);
        all.forEach((name, r) -> {
            switch (r) {
                case PlanResult.Plan p -> out.printf(Locale.ROOT, "%-20s %12.3f %14.2f %10.4f %12.3g  %s%n", name,
                        p.predicted().latencyMs(), p.predicted().throughputRps(), p.predicted().energyJ(), p.predicted().cost(),
                        p.stages().stream().map(s -> s.node() + "[" + s.firstBlock() + "-" + s.lastBlock() + "]").toList());
                case PlanResult.Infeasible i -> out.printf("%-20s infeasible [%s] %s%n", name, i.constraint(), i.reason());
            }
        });
    }

}
