package io.edgesplit.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Prediction;
import io.edgesplit.core.plan.PrivacyClass;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.core.stats.Median;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.orchestrator.http.HttpApi;
import io.edgesplit.worker.WorkerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The main job, {@code edgesplit demo}: one orchestrator per model ({@code builtin:minilm} and
 * {@code builtin:stories260k}) with their gateways and the HTTP API in this process, three worker
 * processes with EMULATED device speeds (one in the "trusted" zone) that join both, and a scripted
 * scenario played while two clients keep calling the API (embeddings and greedy completions, one
 * request after another): steady load; the busiest link of MiniLM's plan follows a real bandwidth
 * trace (EMULATED in the senders); the worker outside the trusted zone holding most stages is
 * killed (SIGKILL); a worker of that name comes back and joins again. A third client sends
 * embeddings of privacy class "restricted" (trusted zone only): they run on a route of their own
 * on the camera, and the summary shows from the workers' own counters that no byte of them went
 * anywhere else. Latency is measured per phase at the client; beside it,
 * what the cost model predicts for the plan serving and for the first plan kept (the static
 * baseline), under the same link conditions.
 */
public final class DemoScenario implements AutoCloseable {
    public static final String ENCODER = "builtin:minilm";
    public static final String DECODER = "builtin:stories260k";
    private static final String SOURCE = "gateway";
    private static final int COMPLETION_TOKENS = 24;
    /** The privacy class of the third client's requests: they may run in the trusted zone only. */
    public static final String RESTRICTED = "restricted";
    /** How the restricted client's requests appear in the summary's phases. */
    public static final String RESTRICTED_LANE = ENCODER + " [" + RESTRICTED + "]";
    static final PrivacyClass RESTRICTED_CLASS = new PrivacyClass(RESTRICTED, java.util.Set.of("trusted"));
    /** Largest difference allowed between two embeddings of the same text (float32 sums in another order). */
    static final double EMBEDDING_TOLERANCE = 1e-5;

    /** A worker of the demo's site. */
    public record Node(String name, String zone, double speed, OrchestratorConfig.NodeInfo info) {}

    /** The site: three nodes of different (EMULATED) speeds, camera in the trusted zone, and their links. */
    public static final List<Node> NODES = List.of(
            new Node("camera", "trusted", 0.4, new OrchestratorConfig.NodeInfo(new PowerModel(2, 6), 0.001, 512L << 20)),
            new Node("jetson", "edge", 0.7, new OrchestratorConfig.NodeInfo(new PowerModel(5, 15), 0.01, 2L << 30)),
            new Node("edge-server", "edge", 1.0, new OrchestratorConfig.NodeInfo(new PowerModel(40, 120), 0.10, 8L << 30)));
    public static final List<Link> LINKS = List.of(
            link(SOURCE, "camera", 1000, 0.2), link(SOURCE, "jetson", 100, 1), link(SOURCE, "edge-server", 100, 2),
            link("camera", "jetson", 100, 1), link("camera", "edge-server", 50, 2), link("jetson", "edge-server", 100, 2));

    private static Link link(String a, String b, double mbps, double latencyMs) {
        return new Link(NodeId.of(a), NodeId.of(b), mbps * 1e6 / 8, latencyMs);
    }

    /** What the demo tells as it goes: lines, and the progress of a step that takes a while (0..1). */
    public interface Listener {
        void line(String text);

        default void progress(String what, double fraction) {}
    }

    /**
     * @param duration the four phases together
     * @param trace the link's bandwidth during the bandwidth phase, from {@code traceStartS} at
     *     {@code traceSpeedup} trace seconds per second, scaled to start at the link's nominal rate
     */
    public record Options(Duration duration, int httpPort, BandwidthTrace trace, double traceStartS, double traceSpeedup) {
        public Options {
            if (duration.toMillis() < 8000) {
                throw EdgeSplitException.invalidArgument("--duration must be at least 8 s: " + duration.toSeconds());
            }
        }
    }

    /** The phases, with their share of the duration. */
    enum Phase {
        STEADY("steady", 0.25, "steady load"),
        BANDWIDTH("bandwidth", 0.35, "a link follows a real bandwidth trace"),
        FAULT("fault", 0.2, "a worker is killed"),
        REJOIN("rejoin", 0.2, "the worker comes back");

        final String label;
        final double share;
        final String what;

        Phase(String label, double share, String what) {
            this.label = label;
            this.share = share;
            this.what = what;
        }
    }

    /** One client request: its phase, when it started (s from the demo's start), its latency, whether it failed. */
    record Sample(Phase phase, String model, double tS, double ms, boolean failed) {}

    /** The cost model's view at one moment: for each model, the plan serving and the first plan, predicted. */
    record Predicted(Phase phase, String model, Double serving, Double fixed) {}

    private final Options options;
    private final Listener listener;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final List<Orchestrator> orchestrators = new ArrayList<>();
    private final Map<String, WorkerProcess> workers = new ConcurrentHashMap<>();
    private final List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    private final List<Predicted> predictions = Collections.synchronizedList(new ArrayList<>());
    /** The first output of each distinct input: a completion's text, or an embedding. */
    private final Map<String, Object> firstOutputs = new ConcurrentHashMap<>();
    private final AtomicInteger differing = new AtomicInteger();
    private final Map<String, Double> emulatedBandwidth = new ConcurrentHashMap<>();
    private final List<Map<String, Object>> script = Collections.synchronizedList(new ArrayList<>());
    private HttpApi api;
    private List<String> texts;
    private int tokensPerText;
    private volatile Phase phase = Phase.STEADY;
    private volatile boolean stopLoad;
    private long startMs;
    private String[] tracedLink;
    private String killed;

    private DemoScenario(Options options, Listener listener) {
        this.options = options;
        this.listener = listener;
    }

    /** Starts the orchestrators, the HTTP API and the workers, and waits until both models have a plan. */
    public static DemoScenario start(Options options, Listener listener) {
        DemoScenario d = new DemoScenario(options, listener);
        try {
            d.setUp();
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private void setUp() {
        listener.line("loading " + ENCODER + " (its tokenizer sizes the requests)");
        try (Tokenizer tok = new OnnxModelLoader(LoadLimits.defaults()).load(ENCODER).tokenizer().open()) {
            texts = DemoTexts.paragraphs();
            int total = 0;
            for (String t : texts) {
                total += tok.encode(t).length;
            }
            tokensPerText = Math.max(1, total / texts.size());
        }
        Map<String, OrchestratorConfig.NodeInfo> infos = new HashMap<>();
        NODES.forEach(n -> infos.put(n.name(), n.info()));
        for (String model : List.of(ENCODER, DECODER)) {
            listener.line("starting the orchestrator for " + model);
            OrchestratorConfig c = OrchestratorConfig.defaults(model, Policy.of(Objective.LATENCY)).withNodes(infos)
                    .withLinks(LINKS).withMinWorkers(NODES.size()).withProfileTokens(tokensPerText)
                    .withTiming(Duration.ofMillis(100), Duration.ofSeconds(3), Duration.ofMillis(200))
                    .withSwitching(2.0, 0.1, 6).withPrivacyClasses(Map.of(RESTRICTED, RESTRICTED_CLASS));
            orchestrators.add(Orchestrator.start(c, "127.0.0.1", 0, 0));
        }
        api = HttpApi.start(orchestrators, new HttpApi.Options(options.httpPort(), 64, Duration.ofMinutes(5)));
        listener.line("HTTP API on " + url());
        for (Node n : NODES) {
            listener.line("starting worker " + n.name() + " (zone " + n.zone() + (n.speed() < 1 ? ", EMULATED device speed "
                    + n.speed() : "") + ")");
            workers.put(n.name(), WorkerProcess.start(n.name(), n.zone(), 1, n.speed(), joinAddresses(), 0));
        }
        NODES.forEach(n -> emulateLinksOf(n.name()));
        long deadline = System.currentTimeMillis() + 10 * 60_000;
        int needed = NODES.size() * orchestrators.size();
        while (true) {
            int profiled = 0;
            for (Orchestrator o : orchestrators) {
                profiled += o.decisions().entries("node-profiled").size();
            }
            listener.progress("profiling " + needed + " (worker, model) pairs", Math.min(1.0, profiled / (double) needed));
            if (orchestrators.stream().allMatch(o -> o.epoch() > 0)) {
                break;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "no plan for both models within 10 minutes");
            }
            sleep(200);
        }
        listener.progress("profiling", 1.0);
        for (Orchestrator o : orchestrators) {
            listener.line("first plan for " + o.modelName() + ": " + o.currentPlan());
        }
    }

    public String url() {
        return "http://127.0.0.1:" + api.port();
    }

    public List<Orchestrator> orchestrators() {
        return orchestrators;
    }

    private String joinAddresses() {
        return String.join(",", orchestrators.stream().map(o -> "127.0.0.1:" + o.controlPort()).toList());
    }

    /** Sets every configured link from or to {@code node} in the senders (EMULATED), at its current rate. */
    private void emulateLinksOf(String node) {
        for (Link l : LINKS) {
            String a = l.from().value();
            String b = l.to().value();
            if (a.equals(node) || b.equals(node)) {
                setLink(a, b, emulatedBandwidth.getOrDefault(a + "->" + b, l.bandwidthBytesPerS()), l.latencyMs());
            }
        }
    }

    /** Both directions of a link, on every gateway and on the sending workers. */
    private void setLink(String a, String b, double bytesPerS, double latencyMs) {
        for (String[] dir : List.of(new String[] {a, b}, new String[] {b, a})) {
            emulatedBandwidth.put(dir[0] + "->" + dir[1], bytesPerS);
            if (dir[0].equals(SOURCE)) {
                orchestrators.forEach(o -> AdaptationScenario.emulate(o, SOURCE, dir[0], dir[1], bytesPerS, latencyMs));
            } else if (orchestrators.getFirst().address(dir[0]) != null) {
                // a worker's sending path is its own: setting it through one gateway sets it for every model
                AdaptationScenario.emulate(orchestrators.getFirst(), SOURCE, dir[0], dir[1], bytesPerS, latencyMs);
            }
        }
    }

    /** Plays the four phases under load and returns the summary. */
    public Map<String, Object> play() throws InterruptedException {
        startMs = System.currentTimeMillis();
        List<Thread> clients = List.of(
                Thread.ofPlatform().name("demo-embeddings").start(this::embeddingClient),
                Thread.ofPlatform().name("demo-completions").start(this::completionClient),
                Thread.ofPlatform().name("demo-restricted").start(this::restrictedClient),
                Thread.ofPlatform().name("demo-predictions").daemon(true).start(this::predictionSampler));
        Orchestrator encoder = orchestrators.getFirst();
        long total = options.duration().toMillis();
        double nominal = 0;
        for (Phase p : Phase.values()) {
            phase = p;
            long phaseStart = System.currentTimeMillis();
            long phaseEnd = phaseStart + (long) (total * p.share);
            listener.line(String.format(java.util.Locale.ROOT, "phase %s (%.0f s): %s", p.label, total * p.share / 1000, p.what));
            mark(p, "phase", p.what);
            switch (p) {
                case BANDWIDTH -> {
                    tracedLink = AdaptationScenario.busiestLink(encoder.model(), tokensPerText, encoder.currentStages(), SOURCE);
                    Link l = config(tracedLink[0], tracedLink[1]);
                    nominal = l.bandwidthBytesPerS();
                    mark(p, "link", "the link " + tracedLink[0] + "<->" + tracedLink[1] + " (busiest of " + ENCODER
                            + "'s plan, nominal " + Math.round(nominal * 8 / 1e6) + " Mbit/s) follows " + options.trace().name()
                            + " (EMULATED)");
                }
                case FAULT -> {
                    killed = settledVictim(Math.min(2_000, (phaseEnd - phaseStart) / 2));
                    mark(p, "kill", "SIGKILL worker " + killed + " (it holds " + stagesOn(killed) + " stage(s); plans "
                            + orchestrators.stream().map(o -> o.modelName() + " " + o.currentPlan()).toList() + ")");
                    workers.remove(killed).kill();
                }
                case REJOIN -> {
                    Node n = NODES.stream().filter(x -> x.name().equals(killed)).findFirst().orElseThrow();
                    mark(p, "rejoin", "worker " + killed + " starts again and joins both orchestrators");
                    workers.put(n.name(), WorkerProcess.start(n.name(), n.zone(), 1, n.speed(), joinAddresses(), 0));
                    waitJoined(n.name());
                    emulateLinksOf(n.name());
                }
                default -> { }
            }
            double scale = Double.NaN;
            while (System.currentTimeMillis() < phaseEnd) {
                if (p == Phase.BANDWIDTH) {
                    double traceT = options.traceStartS() + (System.currentTimeMillis() - phaseStart) / 1000.0 * options.traceSpeedup();
                    if (Double.isNaN(scale)) {
                        scale = nominal / (options.trace().mbpsAt(options.traceStartS()) * 1e6 / 8);
                    }
                    Link l = config(tracedLink[0], tracedLink[1]);
                    setLink(tracedLink[0], tracedLink[1], options.trace().mbpsAt(traceT) * 1e6 / 8 * scale, l.latencyMs());
                }
                listener.progress("phase " + p.label, (System.currentTimeMillis() - phaseStart) / (double) (phaseEnd - phaseStart));
                sleep(100);
            }
            if (p == Phase.BANDWIDTH) {
                Link l = config(tracedLink[0], tracedLink[1]);
                setLink(tracedLink[0], tracedLink[1], nominal, l.latencyMs());
                mark(p, "link", "the link " + tracedLink[0] + "<->" + tracedLink[1] + " is back at its nominal rate");
            }
            listener.progress("phase " + p.label, 1.0);
        }
        stopLoad = true;
        for (Thread t : clients) {
            t.join(Duration.ofMinutes(2));
        }
        return summary();
    }

    private static Link config(String a, String b) {
        for (Link l : LINKS) {
            if ((l.from().value().equals(a) && l.to().value().equals(b)) || (l.from().value().equals(b) && l.to().value().equals(a))) {
                return l;
            }
        }
        throw new EdgeSplitException(ErrorCode.INTERNAL, "no link " + a + "-" + b);
    }

    private void mark(Phase p, String kind, String what) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("t_s", (System.currentTimeMillis() - startMs) / 1000.0);
        m.put("phase", p.label);
        m.put("kind", kind);
        m.put("what", what);
        script.add(m);
        if (!kind.equals("phase")) {
            listener.line("  " + what);
        }
    }

    /**
     * The worker outside the trusted zone holding most stages of the plans serving now (the
     * encoder's on a tie). The trusted zone's only node is left alone: without it the restricted
     * class has no placement and its requests are refused by design.
     */
    private String victim() {
        String best = null;
        int most = -1;
        for (Node n : NODES) {
            if (RESTRICTED_CLASS.allows(n.zone())) {
                continue;
            }
            int k = stagesOn(n.name()) * 2 + (onPlan(orchestrators.getFirst(), n.name()) ? 1 : 0);
            if (k > most) {
                most = k;
                best = n.name();
            }
        }
        return best;
    }

    /**
     * The victim, among workers that hold a stage: the link trace can leave both models on the
     * trusted camera for a moment (a switch away that the next measurement undoes), and killing an
     * idle worker would show no recovery. The plans answer once a switch under way has moved its
     * stages; from then on this waits up to {@code maxMs} for a worker outside the trusted zone to
     * hold a stage.
     */
    private String settledVictim(long maxMs) throws InterruptedException {
        String v = victim();
        long end = System.currentTimeMillis() + maxMs;
        while (stagesOn(v) == 0 && System.currentTimeMillis() < end) {
            Thread.sleep(50);
            v = victim();
        }
        return v;
    }

    private int stagesOn(String node) {
        int k = 0;
        for (Orchestrator o : orchestrators) {
            for (Stage s : o.currentStages()) {
                k += s.node().value().equals(node) ? 1 : 0;
            }
        }
        return k;
    }

    private static boolean onPlan(Orchestrator o, String node) {
        return o.currentStages().stream().anyMatch(s -> s.node().value().equals(node));
    }

    private void waitJoined(String node) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (orchestrators.stream().anyMatch(o -> o.address(node) == null || !o.readyWorkers().contains(node))) {
            if (System.currentTimeMillis() > deadline) {
                listener.line("  worker " + node + " is not ready for every model after 60 s");
                return;
            }
            sleep(100);
        }
    }

    private void embeddingClient() {
        int i = 0;
        while (!stopLoad) {
            String text = texts.get(i++ % texts.size());
            request(ENCODER, "/v1/embeddings", Map.of("model", ENCODER, "input", text), text, DemoScenario::embedding, 1);
        }
    }

    /** Embeddings of privacy class {@link #RESTRICTED}, a few a second: the same texts, so the same outputs. */
    private void restrictedClient() {
        int i = 0;
        while (!stopLoad) {
            String text = texts.get(i++ % texts.size());
            request(RESTRICTED_LANE, "/v1/embeddings", Map.of("model", ENCODER, "input", text, "privacy_class", RESTRICTED),
                    text, DemoScenario::embedding, 1);
            sleep(250);
        }
    }

    /** The first embedding of an embeddings answer. */
    private static double[] embedding(JsonNode body) {
        JsonNode e = body.path("data").get(0).path("embedding");
        double[] v = new double[e.size()];
        for (int k = 0; k < v.length; k++) {
            v[k] = e.get(k).asDouble();
        }
        return v;
    }

    private void completionClient() {
        int i = 0;
        while (!stopLoad) {
            String prompt = DemoTexts.PROMPTS.get(i++ % DemoTexts.PROMPTS.size());
            request(DECODER, "/v1/completions", Map.of("model", DECODER, "prompt", prompt, "max_tokens", COMPLETION_TOKENS,
                    "temperature", 0), prompt, body -> body.path("choices").get(0).path("text").asText(), COMPLETION_TOKENS);
        }
    }

    /** One request; the latency is per request, or per generated token for completions ({@code units}). */
    private void request(String model, String path, Map<String, Object> body, String key,
            java.util.function.Function<JsonNode, Object> output, int units) {
        Phase p = phase;
        long t0 = System.nanoTime();
        double at = (System.currentTimeMillis() - startMs) / 1000.0;
        boolean failed;
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofMinutes(2))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)))
                    .build(), HttpResponse.BodyHandlers.ofString());
            failed = r.statusCode() != 200;
            if (failed) {
                listener.line("  request to " + path + " failed: " + r.statusCode() + " " + r.body());
            } else {
                Object out = output.apply(json.readTree(r.body()));
                Object first = firstOutputs.putIfAbsent(body.get("model") + "|" + key, out); // a class's lane must agree too
                if (first != null && !same(first, out)) {
                    differing.incrementAndGet();
                    listener.line("  " + model + " gave a different output for the same input");
                }
            }
        } catch (java.io.IOException e) {
            failed = true;
            listener.line("  request to " + path + " failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        samples.add(new Sample(p, model, at, (System.nanoTime() - t0) / 1e6 / units, failed));
    }

    /** Texts equal; embeddings within {@link #EMBEDDING_TOLERANCE} element by element. */
    private static boolean same(Object a, Object b) {
        if (a instanceof double[] x && b instanceof double[] y) {
            if (x.length != y.length) {
                return false;
            }
            for (int i = 0; i < x.length; i++) {
                if (Math.abs(x[i] - y[i]) > EMBEDDING_TOLERANCE) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    private void predictionSampler() {
        while (!stopLoad) {
            Phase p = phase;
            for (Orchestrator o : orchestrators) {
                try {
                    Map<String, Double> bw = Map.copyOf(emulatedBandwidth);
                    Prediction serving = o.predict(o.currentStages(), bw);
                    Prediction fixed = o.predict(o.firstStages(), bw);
                    predictions.add(new Predicted(p, o.modelName(), serving == null ? null : serving.latencyMs(),
                            fixed == null ? null : fixed.latencyMs()));
                } catch (RuntimeException e) {
                    // the controller is busy or the plan is being replaced: the next sample will do
                }
            }
            sleep(500);
        }
    }

    private Map<String, Object> summary() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("demo", "edgesplit");
        root.put("emulated", "device speeds (workers stretch compute by 1/speed) and links (sender-side delays and rates); "
                + "the workers are real processes, compute is ONNX Runtime, transport gRPC, the trace and the models are real");
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (Node n : NODES) {
            nodes.add(Map.of("name", n.name(), "zone", n.zone(), "speed_emulated", n.speed()));
        }
        root.put("nodes", nodes);
        root.put("duration_s", options.duration().toMillis() / 1000.0);
        root.put("tokens_per_embedding_request", tokensPerText);
        List<Map<String, Object>> phases = new ArrayList<>();
        for (Phase p : Phase.values()) {
            Map<String, Object> ph = new LinkedHashMap<>();
            ph.put("name", p.label);
            ph.put("what", p.what);
            Map<String, Object> models = new LinkedHashMap<>();
            List<String> lanes = new ArrayList<>(orchestrators.stream().map(Orchestrator::modelName).toList());
            lanes.add(RESTRICTED_LANE);
            for (String m : lanes) {
                List<Sample> s;
                synchronized (samples) {
                    s = samples.stream().filter(x -> x.phase() == p && x.model().equals(m)).toList();
                }
                double[] ok = s.stream().filter(x -> !x.failed()).mapToDouble(Sample::ms).sorted().toArray();
                Map<String, Object> mm = new LinkedHashMap<>();
                mm.put("unit", m.equals(DECODER) ? "ms per generated token (greedy, " + COMPLETION_TOKENS + " tokens)"
                        : "ms per request");
                mm.put("requests", s.size());
                mm.put("failed", s.stream().filter(Sample::failed).count());
                mm.put("p50_ms", ok.length == 0 ? null : Median.of(ok));
                mm.put("p95_ms", ok.length == 0 ? null : ok[Math.min(ok.length - 1, (int) Math.ceil(0.95 * ok.length) - 1)]);
                List<Predicted> pr;
                synchronized (predictions) {
                    pr = predictions.stream().filter(x -> x.phase() == p && x.model().equals(m)).toList();
                }
                if (m.equals(RESTRICTED_LANE)) {
                    mm.put("privacy_class", RESTRICTED);
                }
                mm.put("predicted_serving_ms", median(pr.stream().map(Predicted::serving).toList()));
                mm.put("predicted_static_ms", median(pr.stream().map(Predicted::fixed).toList()));
                models.put(m, mm);
            }
            ph.put("models", models);
            phases.add(ph);
        }
        root.put("phases", phases);
        root.put("static_baseline", "the first plan of each model kept all along, its latency predicted by the cost model under "
                + "the same (EMULATED) link rates and measured node profiles; null while a node of it is dead");
        root.put("script", List.copyOf(script));
        List<Map<String, Object>> changes = new ArrayList<>();
        List<Map<String, Object>> migrations = new ArrayList<>();
        Map<String, Object> kept = new LinkedHashMap<>();
        for (Orchestrator o : orchestrators) {
            for (Map<String, Object> e : o.decisions().entries()) {
                String kind = String.valueOf(e.get("kind"));
                if (!List.of("initial", "switch", "recover").contains(kind)) {
                    continue;
                }
                double t = (((Number) e.get("time_ms")).longValue() - startMs) / 1000.0;
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("model", o.modelName());
                if (e.get("privacy_class") != null) {
                    c.put("privacy_class", e.get("privacy_class"));
                }
                c.put("t_s", t);
                c.put("kind", kind);
                c.put("trigger", e.get("trigger"));
                c.put("from_plan", e.get("current_plan"));
                c.put("chosen_plan", e.get("chosen_plan"));
                c.put("predicted_current", e.get("predicted_current"));
                c.put("predicted_new", e.get("predicted_new"));
                c.put("gain_over_horizon_ms", e.get("gain_over_horizon_ms"));
                c.put("move_cost_ms", e.get("move_cost_ms"));
                if (e.get("recovery_ms") != null) {
                    c.put("recovery_ms", e.get("recovery_ms"));
                }
                changes.add(c);
                if (e.get("migration") instanceof Map<?, ?> mig) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("model", o.modelName());
                    m.put("t_s", t);
                    mig.forEach((k, v) -> m.put(String.valueOf(k), v));
                    migrations.add(m);
                }
            }
            kept.put(o.modelName(), o.decisions().entries("kept").size());
        }
        changes.sort(java.util.Comparator.comparingDouble(c -> (Double) c.get("t_s")));
        root.put("kept_decisions", kept);
        root.put("plan_changes", changes);
        root.put("migrations", migrations);
        long failed;
        synchronized (samples) {
            failed = samples.stream().filter(Sample::failed).count();
            root.put("requests", samples.size());
        }
        root.put("failed_requests", failed);
        root.put("privacy", privacy());
        root.put("identical_outputs", differing.get() == 0);
        root.put("outputs_compared", "completions' text exactly; embeddings within " + EMBEDDING_TOLERANCE + " per element");
        root.put("distinct_inputs", firstOutputs.size());
        return root;
    }

    /**
     * The restricted class as the workers counted it: its route's plan per model, the bytes of it
     * each worker sent, and how many of those went from or to a node outside its zones (must be 0).
     * A killed worker's counts went with it.
     */
    private Map<String, Object> privacy() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("class", RESTRICTED);
        out.put("allowed_zones", new java.util.TreeSet<>(RESTRICTED_CLASS.allowedZones()));
        Map<String, Object> routes = new LinkedHashMap<>();
        Map<String, Long> sent = new java.util.TreeMap<>();
        long outside = 0;
        long refused = 0;
        Map<String, String> zones = new HashMap<>();
        NODES.forEach(n -> zones.put(n.name(), n.zone()));
        for (Orchestrator o : orchestrators) {
            routes.put(o.modelName(), o.classPlans().get(RESTRICTED));
        }
        for (var e : orchestrators.getFirst().workerTelemetry().entrySet()) {
            refused += e.getValue().getRejectedPrivacy();
            for (var b : e.getValue().getSentList()) {
                if (b.getPrivacyClass().equals(RESTRICTED)) {
                    sent.merge(e.getKey() + "->" + b.getPeer(), b.getBytesSent(), Long::sum);
                    boolean fromOk = RESTRICTED_CLASS.allows(zones.getOrDefault(e.getKey(), ""));
                    boolean toOk = b.getPeer().equals(SOURCE) || RESTRICTED_CLASS.allows(zones.getOrDefault(b.getPeer(), ""));
                    outside += fromOk && toOk ? 0 : b.getBytesSent();
                }
            }
        }
        out.put("routes", routes);
        out.put("bytes_sent", sent);
        out.put("bytes_outside_allowed_zones", outside);
        out.put("refused_by_workers", refused);
        return out;
    }

    private static Double median(List<Double> values) {
        double[] v = values.stream().filter(java.util.Objects::nonNull).mapToDouble(Double::doubleValue).toArray();
        return v.length == 0 ? null : Median.of(v);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    @Override
    public void close() {
        stopLoad = true;
        if (api != null) {
            api.close();
        }
        workers.values().forEach(WorkerProcess::close);
        orchestrators.forEach(Orchestrator::close);
    }
}
