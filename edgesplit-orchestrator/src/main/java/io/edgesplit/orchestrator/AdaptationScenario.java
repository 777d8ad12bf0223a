package io.edgesplit.orchestrator;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The adaptation scenario: an orchestrator and its workers (separate processes, EMULATED device
 * speeds and links) serve encoder requests one after another; mid-run the bandwidth of the busiest
 * link of the first plan falls (scripted, by a factor; or following a measured trace). Run three
 * ways on fresh processes: adaptive (the control loop may switch), static (the same first plan, no
 * switching) and oracle (no switching, but moved at the drop to the plan that is best for the rest,
 * its ranges loaded in advance).
 */
public final class AdaptationScenario {

    public enum Way { ADAPTIVE, STATIC, ORACLE }

    /** A worker of the emulated site: its speed (EMULATED when below 1) and what the config says of it. */
    public record Node(String name, String zone, double speed, OrchestratorConfig.NodeInfo info) {}

    /**
     * @param dropFactor scripted: the link's bandwidth is divided by this at the drop
     * @param trace or null; else the link follows it from {@code traceStartS}, {@code traceSpeedup}
     *     trace seconds per second, scaled so that it starts at the link's configured bandwidth
     * @param before time before the drop (with a trace: before the trace starts playing)
     * @param after time after it
     */
    public record Options(String model, int tokens, List<Node> nodes, List<Link> links, double dropFactor,
            BandwidthTrace trace, double traceStartS, double traceSpeedup, Duration before, Duration after,
            Objective objective, int distinctInputs, int maxSwitchesPerMinute, double switchFactor, double minRelativeGain) {

        public Options(String model, int tokens, List<Node> nodes, List<Link> links, double dropFactor, BandwidthTrace trace,
                double traceStartS, double traceSpeedup, Duration before, Duration after, Objective objective,
                int distinctInputs, int maxSwitchesPerMinute) {
            this(model, tokens, nodes, links, dropFactor, trace, traceStartS, traceSpeedup, before, after, objective,
                    distinctInputs, maxSwitchesPerMinute, 2.0, 0.1);
        }

        public Options withMaxSwitchesPerMinute(int n) {
            return new Options(model, tokens, nodes, links, dropFactor, trace, traceStartS, traceSpeedup, before, after,
                    objective, distinctInputs, n, switchFactor, minRelativeGain);
        }

        /**
         * The switching rules: a change must gain {@code factor} times its move cost over the horizon
         * (default 2) and improve the objective by at least {@code minGain} (default 0.1).
         */
        public Options withSwitchRules(double factor, double minGain) {
            return new Options(model, tokens, nodes, links, dropFactor, trace, traceStartS, traceSpeedup, before, after,
                    objective, distinctInputs, maxSwitchesPerMinute, factor, minGain);
        }

        public Options withTrace(BandwidthTrace t, double startS, double speedup) {
            return new Options(model, tokens, nodes, links, dropFactor, t, startS, speedup, before, after, objective,
                    distinctInputs, maxSwitchesPerMinute, switchFactor, minRelativeGain);
        }
    }

    /** As {@link #run(Options, Way, Consumer)}, starting from {@code firstPlan} ("node:first-last" stages; null: the planner's). */
    public static Result run(Options o, Way way, List<String> firstPlan, Consumer<String> progress) throws Exception {
        return run(o, way, progress, firstPlan);
    }

    /** One request: when it started (s from the start of the timed run), its latency, the link's bandwidth then, the route epoch. */
    public record Point(double tS, double latencyMs, double bandwidthMbps, long epoch) {}

    /**
     * @param switchAtS when the first plan change after the drop finished (the new plan serving), or null
     * @param outputs digest of the output of each distinct input (the same for every repetition, or the run is inconsistent)
     */
    public record Result(Way way, String link, double nominalMbps, List<Point> timeline, double dropAtS, Double switchAtS,
            List<Double> switchesS, double p95BeforeMs, double p95AfterDropMs, double p95AfterAdaptationMs,
            List<String> firstPlan, List<String> lastPlan, List<Map<String, Object>> decisions, Map<Integer, String> outputs,
            int failedRequests, boolean consistent) {}

    private AdaptationScenario() {}

    public static Result run(Options o, Way way, Consumer<String> progress) throws Exception {
        return run(o, way, progress, null);
    }

    private static Result run(Options o, Way way, Consumer<String> progress, List<String> firstPlan) throws Exception {
        Map<String, OrchestratorConfig.NodeInfo> infos = new HashMap<>();
        o.nodes().forEach(n -> infos.put(n.name(), n.info()));
        OrchestratorConfig config = OrchestratorConfig.defaults(o.model(), Policy.of(o.objective())).withNodes(infos)
                .withLinks(o.links()).withMinWorkers(o.nodes().size()).withProfileTokens(o.tokens())
                .withTiming(Duration.ofMillis(100), Duration.ofSeconds(3), Duration.ofMillis(100))
                .withSwitching(o.switchFactor(), o.minRelativeGain(), way == Way.ADAPTIVE ? o.maxSwitchesPerMinute() : 0);
        List<WorkerProcess> workers = new ArrayList<>();
        try (Orchestrator orch = Orchestrator.start(config, "127.0.0.1", 0, 0)) {
            for (Node n : o.nodes()) {
                workers.add(WorkerProcess.start(n.name(), n.zone(), 1, Math.min(1.0, n.speed()), "127.0.0.1:" + orch.controlPort(), 0));
            }
            progress.accept(way.name().toLowerCase() + ": " + o.nodes().size() + " workers joining, profiling " + o.model());
            Encoding traffic = orch.encoding(Duration.ofMinutes(10));
            String source = config.source();
            emulateLinks(orch, source, o.nodes(), o.links());
            AnalyzedModel am = orch.model();
            List<Map<String, OnnxTensor>> inputs = new ArrayList<>();
            for (int i = 0; i < o.distinctInputs(); i++) {
                inputs.add(new InputSynthesizer(am.index(), 100 + i).create(OrtRuntime.get().env(),
                        new DimValues(1, o.tokens(), 0, 64, 4, Map.of()), Set.of()));
            }
            try {
                if (firstPlan != null) {
                    List<Stage> stages = new ArrayList<>();
                    for (String st : firstPlan) {
                        int colon = st.lastIndexOf(':');
                        String[] range = st.substring(colon + 1).split("-");
                        stages.add(new Stage(io.edgesplit.core.cluster.NodeId.of(st.substring(0, colon)),
                                Integer.parseInt(range[0]), Integer.parseInt(range[1]), 1, 1));
                    }
                    orch.force(stages, "the same first plan as the run compared with");
                }
                for (int i = 0; i < 5; i++) {
                    traffic.submit(Gateway.Privacy.NONE, inputs.get(i % inputs.size())).get(2, TimeUnit.MINUTES);
                }
                List<Stage> first = orch.currentStages();
                String[] link = busiestLink(am, o.tokens(), first, source);
                Link nominal = config.link(link[0], link[1]);
                double nominalBw = nominal.bandwidthBytesPerS();
                List<Stage> oraclePlan = null;
                if (way == Way.ORACLE && o.trace() == null) {
                    double dropped = nominalBw / o.dropFactor();
                    oraclePlan = orch.bestPlanWith(Map.of(link[0] + "->" + link[1], dropped, link[1] + "->" + link[0], dropped));
                    for (Stage s : oraclePlan) { // known in advance: loaded before the drop
                        orch.gateway().load(orch.address(s.node().value()), "", o.model(), s.firstBlock(), s.lastBlock(), 0, null);
                    }
                }
                progress.accept(way.name().toLowerCase() + ": first plan " + Orchestrator.describe(first) + "; the link "
                        + link[0] + "->" + link[1] + " will " + (o.trace() == null ? "drop " + o.dropFactor() + "x"
                        : "follow " + o.trace().name()));
                double[] bandwidth = {nominalBw};
                double scale = o.trace() == null ? 1 : nominalBw / (o.trace().mbpsAt(o.traceStartS()) * 1e6 / 8);
                List<Point> timeline = new ArrayList<>();
                Map<Integer, String> outputs = new LinkedHashMap<>();
                boolean consistent = true;
                int failed = 0;
                long start = System.nanoTime();
                long dropAt = start + o.before().toNanos();
                long end = dropAt + o.after().toNanos();
                boolean dropped = false;
                long lastTraceUpdate = 0;
                int i = 0;
                while (System.nanoTime() < end) {
                    long now = System.nanoTime();
                    if (!dropped && now >= dropAt) {
                        dropped = true;
                        if (o.trace() == null) {
                            bandwidth[0] = nominalBw / o.dropFactor();
                            setLink(orch, source, link, bandwidth[0], nominal.latencyMs());
                            if (oraclePlan != null) {
                                orch.force(oraclePlan, "oracle: the best plan after the drop, known in advance");
                            }
                        }
                    }
                    if (dropped && o.trace() != null && now - lastTraceUpdate > 100_000_000L) {
                        lastTraceUpdate = now;
                        double traceT = o.traceStartS() + (now - dropAt) / 1e9 * o.traceSpeedup();
                        bandwidth[0] = o.trace().mbpsAt(traceT) * 1e6 / 8 * scale;
                        setLink(orch, source, link, bandwidth[0], nominal.latencyMs());
                    }
                    int k = i % inputs.size();
                    long t0 = System.nanoTime();
                    try {
                        Map<String, Tensor> out = traffic.submit(Gateway.Privacy.NONE, inputs.get(k)).get(2, TimeUnit.MINUTES);
                        long t1 = System.nanoTime();
                        String digest = digest(out);
                        String previous = outputs.putIfAbsent(k, digest);
                        consistent &= previous == null || previous.equals(digest);
                        timeline.add(new Point((t0 - start) / 1e9, (t1 - t0) / 1e6, bandwidth[0] * 8 / 1e6,
                                traffic.route().epoch()));
                    } catch (java.util.concurrent.ExecutionException e) {
                        failed++;
                    }
                    i++;
                }
                double dropS = (dropAt - start) / 1e9;
                List<Map<String, Object>> decisions = orch.decisions().entries();
                List<Double> switches = new ArrayList<>();
                long startMs = System.currentTimeMillis() - (System.nanoTime() - start) / 1_000_000;
                for (Map<String, Object> d : decisions) {
                    if ("switch".equals(d.get("kind"))) {
                        double at = ((Number) d.get("time_ms")).longValue() / 1000.0 - startMs / 1000.0;
                        if (at >= 0) {
                            switches.add(at);
                        }
                    }
                }
                Double switchAt = switches.stream().filter(t -> t >= dropS).findFirst().orElse(null);
                double adaptedFrom = switchAt != null ? switchAt : dropS;
                return new Result(way, link[0] + "->" + link[1], nominalBw * 8 / 1e6, timeline, dropS, switchAt, switches,
                        p95(timeline, 0, dropS), p95(timeline, dropS, Double.MAX_VALUE),
                        p95(timeline, adaptedFrom, Double.MAX_VALUE), Orchestrator.describe(first),
                        orch.currentPlan(), decisions, outputs, failed, consistent);
            } finally {
                inputs.forEach(m -> m.values().forEach(OnnxTensor::close));
            }
        } finally {
            workers.forEach(WorkerProcess::close);
        }
    }

    /** Sets the link both ways (EMULATED). */
    private static void setLink(Orchestrator orch, String source, String[] link, double bytesPerS, double latencyMs) {
        emulate(orch, source, link[0], link[1], bytesPerS, latencyMs);
        emulate(orch, source, link[1], link[0], bytesPerS, latencyMs);
    }

    /** Sets one direction of a link (EMULATED): on the gateway when it leaves the source, else on the sending worker. */
    /** Every configured link between the source and these nodes, both ways, EMULATED at its configured rate and latency. */
    static void emulateLinks(Orchestrator orch, String source, List<Node> nodes, List<Link> links) {
        Set<String> names = new java.util.HashSet<>();
        names.add(source);
        nodes.forEach(n -> names.add(n.name()));
        for (Link l : links) {
            if (names.contains(l.from().value()) && names.contains(l.to().value())) {
                emulate(orch, source, l.from().value(), l.to().value(), l.bandwidthBytesPerS(), l.latencyMs());
                emulate(orch, source, l.to().value(), l.from().value(), l.bandwidthBytesPerS(), l.latencyMs());
            }
        }
    }

    static void emulate(Orchestrator orch, String source, String from, String to, double bytesPerS, double latencyMs) {
        Gateway.LinkSpec spec = new Gateway.LinkSpec(bytesPerS, latencyMs);
        if (from.equals(source)) {
            orch.gateway().emulateLink(to, spec);
        } else {
            String address = orch.address(from);
            if (address == null) {
                throw new EdgeSplitException(ErrorCode.INTERNAL, "worker " + from + " has not joined");
            }
            orch.gateway().emulateLink(address, to.equals(source) ? "gateway" : to, spec);
        }
    }

    /** The link of the plan that carries the most bytes per request (the later one on a tie). */
    static String[] busiestLink(AnalyzedModel am, int tokens, List<Stage> plan, String source) {
        Policy p = Policy.of(Objective.LATENCY).withUnitsPerRequest(tokens);
        String[] best = null;
        double most = -1;
        String previous = source;
        for (Stage s : plan) {
            double bytes = CostModel.bytesInto(am.profile(), p, s.firstBlock());
            if (bytes >= most) {
                most = bytes;
                best = new String[] {previous, s.node().value()};
            }
            previous = s.node().value();
        }
        if (CostModel.outputBytes(am.profile(), p) >= most) {
            best = new String[] {previous, source};
        }
        return best;
    }

    /** The 95th percentile (nearest rank) of the latencies of requests started in [from, to). */
    public static double p95(List<Point> points, double from, double to) {
        double[] v = points.stream().filter(x -> x.tS() >= from && x.tS() < to).mapToDouble(Point::latencyMs).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v[Math.min(v.length - 1, (int) Math.ceil(0.95 * v.length) - 1)];
    }

    private static String digest(Map<String, Tensor> out) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (var e : new java.util.TreeMap<>(out).entrySet()) {
            md.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(e.getValue().getData().asReadOnlyByteBuffer());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
