package io.edgesplit.cli;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Planner;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.core.plan.baseline.Baselines;
import io.edgesplit.core.stats.Median;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.profile.BlockProfiler;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench prediction}: the cost model's predicted end-to-end latency against the
 * latency measured on worker processes, for many plans on a cluster file's nodes. Device speeds
 * and links are EMULATED (workers stretch their compute by 1 / speed; senders delay messages by
 * latency + bytes / bandwidth); compute, gRPC and serialization are real. Workers run one intra-op
 * thread each (2 cores here), so plans are made over the 1-thread profiles. The data plane's fixed
 * cost per message is measured first, on a one-stage plan that is not among those compared, and
 * added to every link's latency: that is what a planner in production learns from telemetry.
 */
@Command(name = "prediction", description = "Predicted vs measured end-to-end latency of many plans on worker processes.")
final class PredictionBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--cluster", paramLabel = "FILE", description = "cluster YAML. Default: ${DEFAULT-VALUE}")
    Path cluster = Path.of("examples/cluster-emulated.yaml");

    @Option(names = "--model", paramLabel = "MODEL", description = "an .onnx file or builtin:NAME. Default: ${DEFAULT-VALUE}")
    String model = "builtin:minilm";

    @Option(names = "--sequence", paramLabel = "N", description = "tokens per request (decoders: a prefill). Default: ${DEFAULT-VALUE}")
    int sequence = 32;

    @Option(names = "--plans", paramLabel = "N", description = "plans to compare. Default: ${DEFAULT-VALUE}")
    int plans = 10;

    @Option(names = "--requests", paramLabel = "N", description = "timed requests per plan. Default: ${DEFAULT-VALUE}")
    int requests = 15;

    @Option(names = "--seed", paramLabel = "S", description = "seed of the extra random plans. Default: ${DEFAULT-VALUE}")
    long seed = 1;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws Exception {
        common.threads = 1;
        ClusterFile file = ClusterFile.read(cluster);
        List<ClusterFile.NodeSpec> nodes = file.nodes().stream()
                .filter(n -> n.times() instanceof ClusterFile.Measured m && m.profile() == null).toList();
        if (nodes.size() < 2) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, cluster + " needs at least two nodes with 'profile: measure'");
        }
        ModelArgs args = new ModelArgs();
        args.model = model;
        args.common = common;
        AnalyzedModel am = args.analyze();
        am.requireCuts();
        PrintWriter err = spec.commandLine().getErr();
        DimValues dims = new DimValues(1, sequence, 0, 64, 4, Map.of());
        long units = "token".equals(am.profile().unit()) ? sequence : 1;
        progress(err, "measuring " + am.name() + " on this machine (1 thread)");
        double[] here = BlockProfiler.profile(am, new BlockProfiler.Options(List.of(1), dims, 3, 15, Set.of()), s -> { })
                .profiles().getFirst().blockMs();

        List<WorkerProcess> workers = new ArrayList<>();
        Map<NodeId, String> addresses = new LinkedHashMap<>();
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            for (ClusterFile.NodeSpec n : nodes) {
                double speed = ((ClusterFile.Measured) n.times()).speed();
                WorkerProcess w = WorkerProcess.start(n.id().value(), n.zone(), 1, Math.min(1.0, speed));
                workers.add(w);
                addresses.put(n.id(), w.address());
                progress(err, "worker " + n.id() + " (process " + w.process().pid() + ", speed " + speed + ")");
            }
            Map<String, OnnxTensor> inputs = inputs(am, dims);
            try {
                // the data plane's own cost per message, from a one-stage plan on the fastest node, no emulated links
                ClusterFile.NodeSpec fastest = nodes.stream().max((a, b) -> Double.compare(
                        ((ClusterFile.Measured) a.times()).speed(), ((ClusterFile.Measured) b.times()).speed())).orElseThrow();
                double fastestSpeed = Math.min(1.0, ((ClusterFile.Measured) fastest.times()).speed());
                List<Stage> whole = List.of(new Stage(fastest.id(), 0, am.blockCount() - 1, 1, 1));
                double measuredWhole = run(g, am, whole, addresses, file, inputs, false, "calibrate", Math.max(30, 3 * requests));
                double computeWhole = java.util.Arrays.stream(here).sum() / fastestSpeed;
                double perMessage = Math.max(0, (measuredWhole - computeWhole) / 2);
                progress(err, String.format(Locale.ROOT, "data plane: %.3f ms per message (one stage: %.3f ms measured, "
                        + "%.3f ms compute)", perMessage, measuredWhole, computeWhole));

                ClusterSnapshot snapshot = snapshot(file, nodes, here, perMessage);
                Policy policy = Policy.of(Objective.LATENCY).withUnitsPerRequest(units).withMaxStages(nodes.size());
                List<List<Stage>> candidates = candidates(am, snapshot, policy);
                List<Map<String, Object>> rows = new ArrayList<>();
                List<Double> errors = new ArrayList<>();
                PrintWriter out = spec.commandLine().getOut();
                if (!json) {
                    out.printf(Locale.ROOT, "%s, %d %s(s) per request, %s (EMULATED device speeds and links)%n", am.name(),
                            units, am.profile().unit(), file.name());
                    out.printf(Locale.ROOT, "%-52s %12s %12s %8s%n", "plan", "predicted ms", "measured ms", "error");
                }
                for (List<Stage> plan : candidates) {
                    double predicted = CostModel.predict(am.profile(), snapshot, policy, plan).latencyMs();
                    double measured = run(g, am, plan, addresses, file, inputs, true, "plan" + rows.size(), requests);
                    double error = Math.abs(predicted - measured) / measured;
                    errors.add(error);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("plan", describe(plan));
                    row.put("predicted_ms", predicted);
                    row.put("measured_ms_median", measured);
                    row.put("abs_error", error);
                    rows.add(row);
                    if (!json) {
                        out.printf(Locale.ROOT, "%-52s %12.3f %12.3f %7.1f%%%n", describe(plan), predicted, measured, error * 100);
                        out.flush();
                    }
                }
                double medianError = Median.of(errors.stream().mapToDouble(Double::doubleValue).toArray());
                if (json) {
                    Map<String, Object> root = new LinkedHashMap<>();
                    root.put("benchmark", "prediction");
                    root.put("model", am.name());
                    root.put("cluster", file.name());
                    root.put("emulated", "device speeds (workers stretch compute by 1/speed) and links (sender-side delays); "
                            + "compute, gRPC and serialization are real");
                    root.put("units_per_request", units);
                    root.put("requests_per_plan", requests);
                    root.put("data_plane_ms_per_message", perMessage);
                    root.put("plans", rows);
                    root.put("median_abs_error", medianError);
                    root.put("machine", BenchCommand.machine());
                    out.println(Json.write(root));
                } else {
                    out.printf(Locale.ROOT, "median absolute error: %.1f%% over %d plans%n", medianError * 100, rows.size());
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
            }
        } finally {
            workers.forEach(WorkerProcess::close);
        }
        return EdgeSplitCli.OK;
    }

    private void progress(PrintWriter err, String s) {
        if (!json) {
            err.println(s);
            err.flush();
        }
    }

    private static Map<String, OnnxTensor> inputs(AnalyzedModel am, DimValues dims) {
        Set<String> pasts = new HashSet<>();
        for (StatePair s : am.state()) {
            pasts.add(s.past());
        }
        return new InputSynthesizer(am.index(), 1).create(OrtRuntime.get().env(), dims, pasts);
    }

    /** The nodes with 1-thread times (this machine's / speed) and the file's links, each with the data plane's cost added. */
    private static ClusterSnapshot snapshot(ClusterFile file, List<ClusterFile.NodeSpec> nodes, double[] here, double perMessage) {
        List<NodeProfile> profiles = new ArrayList<>();
        Set<NodeId> ids = new HashSet<>();
        for (ClusterFile.NodeSpec n : nodes) {
            double speed = Math.min(1.0, ((ClusterFile.Measured) n.times()).speed());
            double[] t = java.util.Arrays.stream(here).map(x -> x / speed).toArray();
            profiles.add(new NodeProfile(n.id(), n.zone(), n.memoryBytes(), 1, n.power(), n.costPerHour(), Map.of(1, t)));
            ids.add(n.id());
        }
        ids.add(file.source());
        List<Link> links = new ArrayList<>();
        for (Link l : file.links()) {
            if (ids.contains(l.from()) && ids.contains(l.to())) {
                links.add(new Link(l.from(), l.to(), l.bandwidthBytesPerS(), l.latencyMs() + perMessage));
            }
        }
        return new ClusterSnapshot(profiles, links, file.source());
    }

    /** The planner's plans for every objective, every baseline's, then random valid plans, without repeats. */
    private List<List<Stage>> candidates(AnalyzedModel am, ClusterSnapshot snapshot, Policy policy) {
        Set<List<Stage>> out = new LinkedHashSet<>();
        List<Planner> planners = new ArrayList<>();
        planners.add(new ExactPlanner());
        planners.addAll(Baselines.all());
        for (Objective o : List.of(Objective.LATENCY, Objective.THROUGHPUT, Objective.ENERGY, Objective.COST)) {
            for (Planner p : planners) {
                if (p.plan(am.profile(), snapshot, policy.withObjective(o)) instanceof PlanResult.Plan plan) {
                    out.add(plan.stages());
                }
            }
        }
        Random rnd = new Random(seed);
        List<NodeProfile> nodes = snapshot.nodes();
        int blocks = am.blockCount();
        for (int attempt = 0; attempt < 10_000 && out.size() < plans; attempt++) {
            List<NodeProfile> order = new ArrayList<>(nodes);
            java.util.Collections.shuffle(order, rnd);
            int k = 1 + rnd.nextInt(Math.min(order.size(), blocks));
            List<Integer> cuts = new ArrayList<>();
            while (cuts.size() < k - 1) {
                int c = 1 + rnd.nextInt(blocks - 1);
                if (!cuts.contains(c)) {
                    cuts.add(c);
                }
            }
            java.util.Collections.sort(cuts);
            List<Stage> plan = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < k; i++) {
                int end = i < k - 1 ? cuts.get(i) - 1 : blocks - 1;
                plan.add(new Stage(order.get(i).id(), start, end, 1, 1));
                start = end + 1;
            }
            if (CostModel.violation("random", am.profile(), snapshot, policy, plan) == null) {
                out.add(List.copyOf(plan));
            }
        }
        return out.stream().limit(plans).toList();
    }

    /** Loads the plan's ranges and returns the median latency of {@code requests} requests through it. */
    private double run(Gateway g, AnalyzedModel am, List<Stage> plan, Map<NodeId, String> addresses, ClusterFile file,
            Map<String, OnnxTensor> inputs, boolean emulateLinks, String id, int requests) throws Exception {
        List<Gateway.HopSpec> route = new ArrayList<>();
        NodeId previous = file.source();
        for (Stage s : plan) {
            String address = addresses.get(s.node());
            route.add(g.load(address, "any", model, s.firstBlock(), s.lastBlock(), 1,
                    emulateLinks ? link(file, previous, s.node()) : null));
            previous = s.node();
        }
        Gateway.LinkSpec back = emulateLinks ? link(file, previous, file.source()) : null;
        double[] ms = new double[requests];
        try {
            for (int i = -5; i < requests; i++) {
                long t0 = System.nanoTime();
                g.submit(model, 1, route, back, id + "-" + i, null, 0, Gateway.Privacy.NONE, inputs, 0).get(120, TimeUnit.SECONDS);
                if (i >= 0) {
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
            }
        } finally {
            for (Gateway.HopSpec h : route) { // one plan's blocks in memory at a time
                g.unload(h, model);
            }
        }
        return Median.of(ms);
    }

    private static Gateway.LinkSpec link(ClusterFile file, NodeId from, NodeId to) {
        for (Link l : file.links()) {
            if (l.from().equals(from) && l.to().equals(to)) {
                return new Gateway.LinkSpec(l.bandwidthBytesPerS(), l.latencyMs());
            }
        }
        return null; // a node to itself
    }

    private static String describe(List<Stage> plan) {
        StringBuilder b = new StringBuilder();
        for (Stage s : plan) {
            b.append(b.isEmpty() ? "" : " ").append(s.node()).append('[').append(s.firstBlock()).append('-').append(s.lastBlock()).append(']');
        }
        return b.toString();
    }
}
