package io.edgesplit.orchestrator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import ai.onnxruntime.OnnxTensor;
import io.edgesplit.orchestrator.Decoding;
import io.edgesplit.orchestrator.Encoding;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.worker.Gateway;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP surface of one or more orchestrators (one per model, sharing workers): the
 * OpenAI-compatible completions API for generative models (streamed as server-sent events when
 * asked) and embeddings API for encoders, the admin API (cluster, plan, decision log, re-plan)
 * and Prometheus metrics. Errors come in OpenAI's JSON shape with the status a client expects.
 * Requests beyond {@code maxInFlight} are refused with 429 and Retry-After at once.
 */
public final class HttpApi implements AutoCloseable {
    /** Largest request body accepted. */
    static final long MAX_BODY_BYTES = 1 << 20;
    private static final Set<String> COMPLETION_FIELDS = Set.of("model", "prompt", "max_tokens", "temperature", "top_p",
            "seed", "stream", "n", "user", "privacy_class");
    private static final Set<String> UNSUPPORTED = Set.of("suffix", "logprobs", "echo", "stop", "presence_penalty",
            "frequency_penalty", "best_of", "logit_bias", "stream_options", "top_k");

    private static final Set<String> EMBEDDING_FIELDS = Set.of("model", "input", "encoding_format", "user",
            "privacy_class");
    /** Inputs one embeddings request may carry. */
    static final int MAX_EMBEDDING_INPUTS = 64;
    /** Decision-log entries a following client may be behind by before it is cut off. */
    static final int FOLLOW_QUEUE = 1024;
    /** Requests per model that /api/stats shows. */
    static final int RECENT = 600;
    /** Link samples /api/cluster shows. */
    static final int LINK_SERIES = 600;
    private volatile boolean closed;

    /** The models served, by name, in the order given (the first is the admin API's default). */
    private final Map<String, Served> served = new LinkedHashMap<>();
    private final Served first;
    private final Javalin app;
    private final ObjectMapper json = new ObjectMapper();
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Semaphore admission;

    private static final class Tokens {
        final BlockingQueue<Integer> queue = new LinkedBlockingQueue<>();
        volatile long firstAt;
    }

    /** One model and what the API keeps for it. */
    private static final class Served {
        final Orchestrator orchestrator;
        final String name;
        /** Tokens of the completions running, by sequence id, as the gateway samples them. */
        final Map<String, Tokens> streams = new ConcurrentHashMap<>();
        /** The latest requests served: [end time ms, latency ms, units (tokens generated, or 1)]; guarded by itself. */
        final ArrayDeque<double[]> recent = new ArrayDeque<>();
        final java.util.concurrent.atomic.LongAdder requests = new java.util.concurrent.atomic.LongAdder();

        void served(long t0, int units) {
            requests.increment();
            synchronized (recent) {
                recent.addLast(new double[] {System.currentTimeMillis(), (System.nanoTime() - t0) / 1e6, units});
                while (recent.size() > RECENT) {
                    recent.removeFirst();
                }
            }
        }
        /** The drivers (serving plan, privacy classes' routes) the API's token sink is installed on. */
        final java.util.Set<Decoding> sinks = ConcurrentHashMap.newKeySet();
        /** Opened at the first request that needs it and kept (guarded by this). */
        private Tokenizer tokenizer;

        Served(Orchestrator orchestrator) {
            this.orchestrator = orchestrator;
            this.name = orchestrator.modelName();
        }

        boolean generative() {
            return !orchestrator.model().state().isEmpty();
        }

        synchronized Tokenizer tokenizer() {
            if (tokenizer == null) {
                var ref = orchestrator.model().model().tokenizer();
                if (ref == null) {
                    throw new ApiError(400, "invalid_request_error", "model", "no_tokenizer", name + " comes without a tokenizer");
                }
                tokenizer = ref.open();
            }
            return tokenizer;
        }

        /** How an encoder's inputs are made and its output pooled; made at the first embeddings request (guarded by this). */
        private Embedder embedder;

        synchronized Embedder embedder() {
            if (embedder == null) {
                embedder = Embedder.of(orchestrator.model());
            }
            return embedder;
        }

        synchronized void close() {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    private final AtomicLong ids = new AtomicLong();
    private final Duration planTimeout;

    /** The request header naming a request's privacy class (the body's {@code privacy_class} does too). */
    public static final String PRIVACY_HEADER = "X-EdgeSplit-Privacy-Class";

    /**
     * Who holds an API key, and the privacy class every request made with it runs in (null: the
     * request's own, or none).
     */
    public record ApiKey(String holder, String privacyClass) {}

    /**
     * Settings: the port (0: any), how many requests may run at once, how long to wait for a first
     * plan, and the API keys (bearer tokens, to who holds each) that every request must carry;
     * none: no authentication.
     */
    public record Options(int port, int maxInFlight, Duration planTimeout, Map<String, ApiKey> apiKeys) {
        public Options {
            if (maxInFlight < 1) {
                throw EdgeSplitException.invalidArgument("http.max-in-flight must be >= 1: " + maxInFlight);
            }
            apiKeys = Map.copyOf(apiKeys);
            for (String key : apiKeys.keySet()) {
                if (key.length() < 16 || key.chars().anyMatch(c -> c <= ' ' || c > '~')) {
                    throw EdgeSplitException.invalidArgument("the API key of " + apiKeys.get(key).holder()
                            + " must be at least 16 printable ASCII characters without spaces");
                }
            }
        }

        public Options(int port, int maxInFlight, Duration planTimeout) {
            this(port, maxInFlight, planTimeout, Map.of());
        }

        @Override
        public String toString() { // keys never reach a log
            return "Options[port=" + port + ", maxInFlight=" + maxInFlight + ", planTimeout=" + planTimeout + ", apiKeys="
                    + apiKeys.size() + " (hidden)]";
        }
    }

    private HttpApi(List<Orchestrator> orchestrators, Options options) {
        if (orchestrators.isEmpty()) {
            throw EdgeSplitException.invalidArgument("the HTTP API needs at least one orchestrator");
        }
        for (Orchestrator o : orchestrators) {
            if (served.putIfAbsent(o.modelName(), new Served(o)) != null) {
                throw EdgeSplitException.invalidArgument("two orchestrators serve " + o.modelName());
            }
        }
        this.first = served.values().iterator().next();
        this.admission = new Semaphore(options.maxInFlight());
        this.planTimeout = options.planTimeout();
        for (Served m : served.values()) {
            Gauge.builder("edgesplit_plan_epoch", m.orchestrator, o -> o.epoch()).tag("model", m.name)
                    .description("epoch of the plan serving now").register(metrics);
            Gauge.builder("edgesplit_plan_stages", m.orchestrator, o -> {
                List<String> p = o.currentPlan();
                return p == null ? 0 : p.size();
            }).tag("model", m.name).description("stages of the plan serving now").register(metrics);
            Gauge.builder("edgesplit_migrations", m.orchestrator, o -> o.decisions().entries("switch").size()).tag("model", m.name)
                    .description("plan switches (migrations) so far").register(metrics);
        }
        Gauge.builder("edgesplit_workers_ready", this, api -> api.readyWorkers().size())
                .description("workers ready for at least one model").register(metrics);
        Gauge.builder("edgesplit_requests_in_flight", admission, s -> options.maxInFlight() - s.availablePermits())
                .description("HTTP requests being served").register(metrics);
        for (Served m : served.values()) {
            m.orchestrator.decisions().follow(e -> {
                if (e.get("migration") instanceof Map<?, ?> mig && mig.get("stall_ms") instanceof Number stall) {
                    Timer.builder("edgesplit_migration_stall_seconds").tag("model", m.name).tag("kind", String.valueOf(e.get("kind")))
                            .description("how long requests were held while a plan switch took effect").register(metrics)
                            .record((long) (stall.doubleValue() * 1e6), TimeUnit.NANOSECONDS);
                }
            });
        }
        Map<String, ApiKey> keys = options.apiKeys();
        for (ApiKey k : keys.values()) {
            if (k.privacyClass() != null && served.values().stream().noneMatch(m -> m.orchestrator.privacyClasses()
                    .contains(k.privacyClass()))) {
                throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.CONFIG_INVALID, "the API key of " + k.holder()
                        + " names privacy class '" + k.privacyClass() + "', which no model served here has");
            }
        }
        this.app = Javalin.create(config -> {
            config.jetty.port = options.port();
            config.jetty.host = "127.0.0.1";
            config.http.maxRequestSize = MAX_BODY_BYTES;
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            if (!keys.isEmpty()) {
                config.routes.before(ctx -> {
                    if (!ctx.path().equals("/") && !ctx.path().equals("/dashboard.js")) { // the page itself holds no data
                        ctx.attribute(KEY_ATTRIBUTE, authenticate(ctx, keys));
                    }
                });
            }
            config.routes.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(resource("index.html")));
            config.routes.get("/dashboard.js", ctx -> ctx.contentType("text/javascript; charset=utf-8")
                    .result(resource("dashboard.js")));
            config.routes.get("/api/stats", this::stats);
            config.routes.get("/v1/models", this::models);
            config.routes.post("/v1/completions", this::completions);
            config.routes.post("/v1/embeddings", this::embeddings);
            config.routes.get("/api/plan", this::plan);
            config.routes.get("/api/cluster", this::cluster);
            config.routes.get("/api/events", this::events);
            config.routes.post("/api/replan", this::replan);
            config.routes.put("/api/policy", this::policy);
            config.routes.post("/api/nodes/{name}/drain", ctx -> drain(ctx, true));
            config.routes.delete("/api/nodes/{name}/drain", ctx -> drain(ctx, false));
            config.routes.get("/metrics", ctx -> {
                refreshClusterMetrics();
                ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
            });
            config.routes.exception(ApiError.class, (e, ctx) -> error(ctx, e));
            config.routes.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> error(ctx, new ApiError(e.getStatus(),
                    "invalid_request_error", null, e.getStatus() == 413 ? "request_too_large" : "http_" + e.getStatus(),
                    e.getStatus() == 413 ? "the request body is over " + MAX_BODY_BYTES + " bytes" : e.getMessage())));
            config.routes.exception(EdgeSplitException.class, (e, ctx) -> error(ctx, ApiError.of(e)));
            config.routes.exception(Exception.class, (e, ctx) -> error(ctx, new ApiError(500, "server_error", null,
                    "internal_error", "internal error: " + e)));
            config.routes.error(404, "*", ctx -> {
                if (ctx.result() == null || ctx.result().isEmpty()) {
                    error(ctx, new ApiError(404, "invalid_request_error", null, "not_found", "no route " + ctx.method() + " "
                            + ctx.path()));
                }
            });
        });
    }

    /** Starts the API of one orchestrator on loopback at {@code options.port()}. */
    public static HttpApi start(Orchestrator orchestrator, Options options) {
        return start(List.of(orchestrator), options);
    }

    /** Starts the API of several orchestrators (one model each) on loopback at {@code options.port()}. */
    public static HttpApi start(List<Orchestrator> orchestrators, Options options) {
        HttpApi api = new HttpApi(orchestrators, options);
        api.app.start();
        return api;
    }

    /** The newest figure of each cluster meter, by meter key; the meters read it at scrape time. */
    private final Map<String, Double> cluster = new ConcurrentHashMap<>();

    /**
     * Worker and link figures from the newest telemetry: queue depth, KV bytes and heap per node,
     * compute time and runs per stage (node, model, block range), bytes sent per link and the
     * monitor's bandwidth estimate. A meter is registered when its key first appears; one whose
     * node went away reads NaN.
     */
    private void refreshClusterMetrics() {
        Map<String, Double> now = new java.util.HashMap<>();
        Map<String, String[]> tags = new java.util.HashMap<>();
        Map<String, String> kinds = new java.util.HashMap<>();
        for (Served m : served.values()) {
            m.orchestrator.workerTelemetry().forEach((node, t) -> {
                put(now, tags, kinds, "gauge", "edgesplit_worker_queue_depth", t.getQueueDepth(), "node", node);
                put(now, tags, kinds, "gauge", "edgesplit_worker_kv_bytes", t.getKvBytes(), "node", node);
                put(now, tags, kinds, "gauge", "edgesplit_worker_heap_bytes", t.getHeapUsedBytes(), "node", node);
                for (var r : t.getLoadedList()) {
                    String blocks = r.getFirstBlock() + "-" + r.getLastBlock();
                    put(now, tags, kinds, "counter", "edgesplit_stage_compute_seconds", r.getMsTotal() / 1000, "node", node,
                            "model", r.getModel(), "blocks", blocks);
                    put(now, tags, kinds, "counter", "edgesplit_stage_runs", r.getRuns(), "node", node, "model", r.getModel(),
                            "blocks", blocks);
                }
                Map<String, Long> sent = new java.util.HashMap<>();
                t.getSentList().forEach(b -> sent.merge(b.getPeer(), b.getBytesSent(), Long::sum));
                sent.forEach((peer, bytes) -> put(now, tags, kinds, "counter", "edgesplit_link_sent_bytes", bytes, "from", node,
                        "to", peer));
            });
            m.orchestrator.monitor().estimates().forEach((link, bw) -> {
                String[] ends = link.split("->", 2);
                put(now, tags, kinds, "gauge", "edgesplit_link_bandwidth_bytes_per_second", bw, "from", ends[0], "to", ends[1]);
            });
        }
        cluster.replaceAll((k, v) -> now.containsKey(k) ? v : Double.NaN);
        now.forEach((key, value) -> {
            if (cluster.put(key, value) == null) {
                String name = key.substring(0, key.indexOf('|'));
                String help = switch (name) {
                    case "edgesplit_worker_queue_depth" -> "steps waiting on the worker";
                    case "edgesplit_worker_kv_bytes" -> "KV-cache bytes the worker holds";
                    case "edgesplit_worker_heap_bytes" -> "JVM heap in use on the worker (ORT's native memory is not in it)";
                    case "edgesplit_stage_compute_seconds" -> "compute time of a loaded stage (EMULATED slowdown included)";
                    case "edgesplit_stage_runs" -> "steps a loaded stage ran";
                    case "edgesplit_link_sent_bytes" -> "bytes a worker sent to a peer";
                    default -> "a link's bandwidth as the monitor estimates it from real transfers";
                };
                if (kinds.get(key).equals("counter")) {
                    io.micrometer.core.instrument.FunctionCounter.builder(name, cluster, c -> c.getOrDefault(key, Double.NaN))
                            .tags(tags.get(key)).description(help).register(metrics);
                } else {
                    Gauge.builder(name, cluster, c -> c.getOrDefault(key, Double.NaN)).tags(tags.get(key)).description(help)
                            .register(metrics);
                }
            }
        });
    }

    private static void put(Map<String, Double> now, Map<String, String[]> tags, Map<String, String> kinds, String kind,
            String name, double value, String... kv) {
        String key = name + "|" + String.join("|", kv);
        now.put(key, value);
        tags.put(key, kv);
        kinds.put(key, kind);
    }

    private static String resource(String name) throws IOException {
        try (var in = HttpApi.class.getResourceAsStream("dashboard/" + name)) {
            if (in == null) {
                throw new IOException("the dashboard's " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** {@code GET /api/stats}: per model, the latest requests (end time, latency, units) and the count so far. */
    private void stats(Context ctx) {
        Map<String, Object> models = new LinkedHashMap<>();
        for (Served m : served.values()) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("kind", m.generative() ? "completions" : "embeddings");
            one.put("requests", m.requests.sum());
            synchronized (m.recent) {
                one.put("recent", List.copyOf(m.recent));
            }
            one.put("recent_fields", List.of("time_ms", "latency_ms", "units"));
            models.put(m.name, one);
        }
        ctx.contentType("application/json").result(write(Map.of("models", models)));
    }

    /** Workers ready for at least one model. */
    private java.util.SortedSet<String> readyWorkers() {
        java.util.SortedSet<String> all = new java.util.TreeSet<>();
        served.values().forEach(m -> all.addAll(m.orchestrator.readyWorkers()));
        return all;
    }

    /** The model a request names, or 404. */
    private Served served(String model) {
        Served m = served.get(model);
        if (m == null) {
            throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "the model '" + model
                    + "' does not exist here (served: " + String.join(", ", served.keySet()) + ")");
        }
        return m;
    }

    /** The model of an admin request: {@code ?model=}, else the first. */
    private Served adminModel(Context ctx) {
        String model = ctx.queryParam("model");
        return model == null || model.isEmpty() ? first : served(model);
    }

    public int port() {
        return app.port();
    }

    private static final String KEY_ATTRIBUTE = "edgesplit.api-key";

    /**
     * The API key the request carries as its bearer token (compared in constant time with every
     * key), or 401.
     */
    private static ApiKey authenticate(Context ctx, Map<String, ApiKey> keys) {
        String h = ctx.header("Authorization");
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiError(401, "invalid_request_error", null, "missing_api_key",
                    "this API needs an API key: send 'Authorization: Bearer KEY'");
        }
        byte[] given = h.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
        ApiKey found = null;
        for (var k : keys.entrySet()) {
            if (java.security.MessageDigest.isEqual(k.getKey().getBytes(StandardCharsets.US_ASCII), given)) {
                found = k.getValue();
            }
        }
        if (found == null) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key", "the API key is not valid");
        }
        return found;
    }

    /**
     * The privacy class a request runs in: its API key's, or the one it names (the
     * {@value #PRIVACY_HEADER} header or the body's {@code privacy_class}), or none. A request may
     * not name another class than its key's; it is refused, not run in either.
     */
    private String privacyClass(Context ctx, JsonNode b, Served m) {
        String header = ctx.header(PRIVACY_HEADER);
        header = header == null || header.isBlank() ? null : header.strip();
        JsonNode f = b.get("privacy_class");
        if (f != null && !f.isNull() && !f.isTextual()) {
            throw ApiError.badParam("privacy_class", "'privacy_class' must be a string");
        }
        String field = f == null || f.isNull() || f.asText().isBlank() ? null : f.asText().strip();
        if (header != null && field != null && !header.equals(field)) {
            throw ApiError.badParam("privacy_class", "the " + PRIVACY_HEADER + " header says '" + header
                    + "' and 'privacy_class' says '" + field + "'");
        }
        String asked = field != null ? field : header;
        ApiKey key = ctx.attribute(KEY_ATTRIBUTE);
        if (key != null && key.privacyClass() != null) {
            if (asked != null && !asked.equals(key.privacyClass())) {
                throw new ApiError(403, "permission_error", "privacy_class", "privacy_class_forbidden", "the API key of "
                        + key.holder() + " runs every request in privacy class '" + key.privacyClass() + "', not '" + asked + "'");
            }
            asked = key.privacyClass();
        }
        if (asked != null && !m.orchestrator.privacyClasses().contains(asked)) {
            throw new ApiError(400, "invalid_request_error", "privacy_class", "unknown_privacy_class", "unknown privacy class '"
                    + asked + "' for " + m.name + " (classes: " + new java.util.TreeSet<>(m.orchestrator.privacyClasses()) + ")");
        }
        return asked;
    }

    /** The error of a request whose privacy class lost its only placement while it ran, if that is what {@code cause} is. */
    private static java.util.Optional<ApiError> placementLost(Throwable cause) {
        return cause instanceof EdgeSplitException e && e.code() == io.edgesplit.core.error.ErrorCode.NO_PLACEMENT
                ? java.util.Optional.of(new ApiError(503, "server_error", "privacy_class", "no_feasible_placement", e.getMessage()))
                : java.util.Optional.empty();
    }

    /** The lane a request of {@code privacyClass} runs on, or the error the client should see. */
    private Orchestrator.Lane lane(Served m, String privacyClass) {
        try {
            return m.orchestrator.lane(privacyClass, planTimeout);
        } catch (EdgeSplitException e) {
            if (e.code() == io.edgesplit.core.error.ErrorCode.NO_PLACEMENT) {
                throw new ApiError(503, "server_error", "privacy_class", "no_feasible_placement", e.getMessage());
            }
            if (e.code() == io.edgesplit.core.error.ErrorCode.INVALID_ARGUMENT) {
                throw new ApiError(400, "invalid_request_error", "privacy_class", "unknown_privacy_class", e.getMessage());
            }
            throw new ApiError(503, "server_error", null, "no_route", "no plan serves the model: " + e.getMessage());
        }
    }

    public PrometheusMeterRegistry metrics() {
        return metrics;
    }

    private void error(Context ctx, ApiError e) {
        Counter.builder("edgesplit_rejected_requests_total").tag("reason", e.code()).description("requests refused, by reason")
                .register(metrics).increment();
        ObjectNode body = json.createObjectNode();
        ObjectNode err = body.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param());
        }
        err.put("code", e.code());
        if (e.status() == 429) {
            ctx.header("Retry-After", "1");
        }
        ctx.status(e.status()).contentType("application/json").result(body.toString());
    }

    private void models(Context ctx) {
        ObjectNode body = json.createObjectNode().put("object", "list");
        var data = body.putArray("data");
        for (Served s : served.values()) {
            data.addObject().put("id", s.name).put("object", "model").put("created", 0).put("owned_by", "edgesplit")
                    .put("kind", s.generative() ? "completions" : "embeddings");
        }
        ctx.contentType("application/json").result(body.toString());
    }

    private JsonNode body(Context ctx) {
        if (ctx.bodyAsBytes().length > MAX_BODY_BYTES) {
            throw new ApiError(413, "invalid_request_error", null, "request_too_large", "the request body is over "
                    + MAX_BODY_BYTES + " bytes");
        }
        try {
            JsonNode n = json.readTree(ctx.bodyAsBytes());
            if (n == null || !n.isObject()) {
                throw new ApiError(400, "invalid_request_error", null, "invalid_json", "the body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new ApiError(400, "invalid_request_error", null, "invalid_json", "malformed JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** A completion request, checked. */
    private record Completion(Served model, String prompt, int maxTokens, Sampling sampling, boolean stream) {}

    private static void only(JsonNode b, Set<String> known, Set<String> unsupported) {
        for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (unsupported.contains(f)) {
                throw ApiError.badParam(f, "parameter '" + f + "' is not supported by EdgeSplit");
            }
            if (!known.contains(f)) {
                throw ApiError.badParam(f, "unknown parameter '" + f + "'");
            }
        }
    }

    private Served model(JsonNode b) {
        JsonNode model = b.get("model");
        if (model == null || !model.isTextual()) {
            throw ApiError.badParam("model", "'model' is required (a string)");
        }
        return served(model.asText());
    }

    private Completion completion(JsonNode b) {
        only(b, COMPLETION_FIELDS, UNSUPPORTED);
        Served served = model(b);
        if (!served.generative()) {
            throw new ApiError(400, "invalid_request_error", "model", "model_not_generative", served.name
                    + " is an encoder: use /v1/embeddings");
        }
        JsonNode p = b.get("prompt");
        String prompt;
        if (p == null || p.isNull()) {
            prompt = "";
        } else if (p.isTextual()) {
            prompt = p.asText();
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = p.get(0).asText();
        } else {
            throw ApiError.badParam("prompt", "'prompt' must be a string (one prompt per request)");
        }
        int maxTokens = integer(b, "max_tokens", 16);
        int context = served.orchestrator.context();
        if (maxTokens < 1 || maxTokens >= context) {
            throw ApiError.badParam("max_tokens", "'max_tokens' must be between 1 and " + (context - 1) + ", not " + maxTokens);
        }
        if (b.has("n") && integer(b, "n", 1) != 1) {
            throw ApiError.badParam("n", "'n' must be 1");
        }
        double temperature = number(b, "temperature", 1.0);
        if (temperature < 0 || temperature > 2) {
            throw ApiError.badParam("temperature", "'temperature' must be between 0 and 2, not " + temperature);
        }
        double topP = number(b, "top_p", 1.0);
        if (!(topP > 0) || topP > 1) {
            throw ApiError.badParam("top_p", "'top_p' must be in (0, 1], not " + topP);
        }
        long seed = b.has("seed") ? integer(b, "seed", 0) : ids.get();
        JsonNode s = b.get("stream");
        if (s != null && !s.isBoolean() && !s.isNull()) {
            throw ApiError.badParam("stream", "'stream' must be true or false");
        }
        return new Completion(served, prompt, maxTokens, new Sampling(temperature, 0, topP, seed), s != null && s.asBoolean());
    }

    private static int integer(JsonNode b, String field, int otherwise) {
        JsonNode n = b.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw ApiError.badParam(field, "'" + field + "' must be an integer");
        }
        return n.asInt();
    }

    private static double number(JsonNode b, String field, double otherwise) {
        JsonNode n = b.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.isNumber()) {
            throw ApiError.badParam(field, "'" + field + "' must be a number");
        }
        return n.asDouble();
    }

    /** The sequences' driver of the lane, with the API's token sink installed on it. */
    private Decoding decoding(Served m, Orchestrator.Lane lane) {
        Decoding d = (Decoding) lane.traffic();
        if (!m.sinks.contains(d)) {
            synchronized (m) {
                if (m.sinks.add(d)) {
                    d.sink((seq, token) -> {
                        Tokens q = m.streams.get(seq);
                        if (q != null) {
                            if (q.firstAt == 0) {
                                q.firstAt = System.nanoTime();
                            }
                            q.queue.add(token);
                        }
                    });
                }
            }
        }
        return d;
    }

    private void completions(Context ctx) throws Exception {
        long t0 = System.nanoTime();
        JsonNode b = body(ctx);
        Completion c = completion(b);
        Served m = c.model();
        Orchestrator.Lane lane = lane(m, privacyClass(ctx, b, m));
        Decoding d = decoding(m, lane);
        if (!admission.tryAcquire()) {
            throw new ApiError(429, "rate_limit_error", null, "overloaded", "too many requests in flight; retry shortly");
        }
        String id = "cmpl-" + ids.incrementAndGet();
        Tokens tokens = new Tokens();
        m.streams.put(id, tokens);
        try {
            Tokenizer tok = m.tokenizer();
            int[] prompt = tok.encode(c.prompt());
            if (prompt.length + c.maxTokens() > m.orchestrator.context()) {
                throw ApiError.badParam(c.prompt().isEmpty() ? "max_tokens" : "prompt", "the prompt has " + prompt.length
                        + " tokens and max_tokens is " + c.maxTokens() + ": over the model's context of "
                        + m.orchestrator.context() + " tokens");
            }
            CompletableFuture<Decoding.Result> done = d.start(new Decoding.Request(id, prompt, c.sampling(), c.maxTokens(),
                    tok.stopTokens(), lane.privacy()));
            TextStream text = new TextStream(tok, prompt[prompt.length - 1]);
            long created = System.currentTimeMillis() / 1000;
            if (c.stream()) {
                stream(ctx, m, id, created, done, tokens, text, t0);
            } else {
                Decoding.Result r = done.get(10, TimeUnit.MINUTES);
                StringBuilder all = new StringBuilder();
                for (int t : r.tokens()) {
                    all.append(text.add(t));
                }
                record(m, t0, tokens.firstAt, r.tokens().length);
                ObjectNode body = json.createObjectNode().put("id", id).put("object", "text_completion").put("created", created)
                        .put("model", m.name);
                ObjectNode choice = body.putArray("choices").addObject();
                choice.put("text", all.toString()).put("index", 0).putNull("logprobs").put("finish_reason", finish(r));
                body.putObject("usage").put("prompt_tokens", prompt.length).put("completion_tokens", r.tokens().length)
                        .put("total_tokens", prompt.length + r.tokens().length);
                ctx.contentType("application/json").result(body.toString());
            }
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            throw placementLost(cause).orElse(new ApiError(503, "server_error", null, "generation_failed", "generation failed: "
                    + cause.getMessage()));
        } finally {
            m.streams.remove(id);
            admission.release();
        }
        Timer.builder("edgesplit_http_request_seconds").tag("endpoint", "completions").tag("model", m.name)
                .description("HTTP request latency")
                .publishPercentileHistogram().register(metrics).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }

    /** {@code POST /v1/embeddings}: each input through the encoder's current route, pooled as the model states. */
    private void embeddings(Context ctx) throws Exception {
        long t0 = System.nanoTime();
        JsonNode b = body(ctx);
        only(b, EMBEDDING_FIELDS, Set.of("dimensions"));
        Served m = model(b);
        if (m.generative()) {
            throw new ApiError(400, "invalid_request_error", "model", "model_not_encoder", m.name
                    + " is a generative model: use /v1/completions");
        }
        JsonNode f = b.get("encoding_format");
        boolean base64 = f != null && !f.isNull() && f.asText().equals("base64");
        if (f != null && !f.isNull() && !(f.isTextual() && (base64 || f.asText().equals("float")))) {
            throw ApiError.badParam("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
        }
        List<int[]> inputs = embeddingInputs(b, m);
        Embedder embedder = m.embedder();
        Orchestrator.Lane lane = lane(m, privacyClass(ctx, b, m));
        Encoding enc = (Encoding) lane.traffic();
        if (!admission.tryAcquire()) {
            throw new ApiError(429, "rate_limit_error", null, "overloaded", "too many requests in flight; retry shortly");
        }
        List<Map<String, OnnxTensor>> open = new ArrayList<>();
        try {
            List<CompletableFuture<Map<String, Tensor>>> runs = new ArrayList<>();
            for (int[] ids : inputs) {
                Map<String, OnnxTensor> in = embedder.inputs(ids);
                open.add(in);
                runs.add(enc.submit(lane.privacy(), in));
            }
            ObjectNode body = json.createObjectNode().put("object", "list");
            var data = body.putArray("data");
            int tokens = 0;
            for (int i = 0; i < runs.size(); i++) {
                float[] v = embedder.pool(runs.get(i).get(10, TimeUnit.MINUTES), inputs.get(i).length);
                ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
                if (base64) {
                    java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    bytes.asFloatBuffer().put(v);
                    e.put("embedding", java.util.Base64.getEncoder().encodeToString(bytes.array()));
                } else {
                    var a = e.putArray("embedding");
                    for (float x : v) {
                        a.add(x);
                    }
                }
                tokens += inputs.get(i).length;
            }
            body.put("model", m.name);
            body.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
            ctx.contentType("application/json").result(body.toString());
        } catch (java.util.concurrent.ExecutionException e) {
            throw placementLost(e.getCause()).orElse(new ApiError(503, "server_error", null, "encoding_failed", "the encoder failed: "
                    + e.getCause().getMessage()));
        } finally {
            open.forEach(in -> in.values().forEach(OnnxTensor::close));
            admission.release();
        }
        m.served(t0, inputs.size());
        Timer.builder("edgesplit_http_request_seconds").tag("endpoint", "embeddings").tag("model", m.name)
                .description("HTTP request latency")
                .publishPercentileHistogram().register(metrics).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }

    /** The token ids of each input: strings are tokenized, arrays of integers taken as token ids. */
    private List<int[]> embeddingInputs(JsonNode b, Served m) {
        JsonNode in = b.get("input");
        if (in == null || in.isNull()) {
            throw ApiError.badParam("input", "'input' is required (a string, an array of strings or of token arrays)");
        }
        List<JsonNode> items = new ArrayList<>();
        if (in.isTextual() || (in.isArray() && in.size() > 0 && in.get(0).isIntegralNumber())) {
            items.add(in);
        } else if (in.isArray()) {
            in.forEach(items::add);
        } else {
            throw ApiError.badParam("input", "'input' must be a string, an array of strings or of token arrays");
        }
        if (items.isEmpty() || items.size() > MAX_EMBEDDING_INPUTS) {
            throw ApiError.badParam("input", "'input' must hold 1 to " + MAX_EMBEDDING_INPUTS + " inputs, not " + items.size());
        }
        int context = m.orchestrator.context();
        Tokenizer tok = m.tokenizer();
        List<int[]> out = new ArrayList<>();
        for (JsonNode item : items) {
            int[] ids;
            if (item.isTextual()) {
                if (item.asText().isEmpty()) {
                    throw ApiError.badParam("input", "an input is an empty string");
                }
                ids = tok.encode(item.asText());
            } else if (item.isArray() && item.size() > 0) {
                ids = new int[item.size()];
                for (int i = 0; i < ids.length; i++) {
                    JsonNode t = item.get(i);
                    if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= tok.vocabSize()) {
                        throw ApiError.badParam("input", "token ids must be integers in [0, " + tok.vocabSize() + "), not " + t);
                    }
                    ids[i] = t.asInt();
                }
            } else {
                throw ApiError.badParam("input", "each input must be a non-empty string or array of token ids");
            }
            if (ids.length > context) {
                throw ApiError.badParam("input", "an input has " + ids.length + " tokens: over the model's context of "
                        + context + " tokens");
            }
            out.add(ids);
        }
        return out;
    }

    private static String finish(Decoding.Result r) {
        return switch (r.finishReason()) {
            case "stop" -> "stop";
            default -> "length";
        };
    }

    private void record(Served m, long t0, long firstTokenAt, int tokens) {
        m.served(t0, Math.max(1, tokens));
        if (firstTokenAt > 0) {
            Timer.builder("edgesplit_time_to_first_token_seconds").tag("model", m.name).publishPercentileHistogram()
                    .description("time from a completion request to its first generated token")
                    .register(metrics).record(firstTokenAt - t0, TimeUnit.NANOSECONDS);
            if (tokens > 1) {
                Timer.builder("edgesplit_time_per_output_token_seconds").tag("model", m.name).publishPercentileHistogram()
                        .description("time per generated token after the first")
                        .register(metrics).record((System.nanoTime() - firstTokenAt) / (tokens - 1), TimeUnit.NANOSECONDS);
            }
        }
        DistributionSummary.builder("edgesplit_completion_tokens").tag("model", m.name)
                .description("tokens generated per completion").register(metrics).record(tokens);
    }

    /** Server-sent events: a chunk per token as the gateway samples it, then a last chunk and [DONE]. */
    private void stream(Context ctx, Served m, String id, long created, CompletableFuture<Decoding.Result> done,
            Tokens tokens, TextStream text, long t0) throws Exception {
        ctx.status(200).contentType("text/event-stream").header("Cache-Control", "no-cache");
        OutputStream out = ctx.res().getOutputStream();
        int count = 0;
        while (true) {
            Integer t = tokens.queue.poll(50, TimeUnit.MILLISECONDS);
            if (t == null) {
                if (done.isDone() && tokens.queue.isEmpty()) {
                    break;
                }
                continue;
            }
            count++;
            event(out, chunk(m, id, created, text.add(t), null));
        }
        Decoding.Result r;
        try {
            r = done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            ObjectNode err = json.createObjectNode();
            err.putObject("error").put("message", "generation failed: " + e.getCause().getMessage()).put("type", "server_error")
                    .put("code", "generation_failed");
            event(out, err.toString());
            out.flush();
            return;
        }
        record(m, t0, tokens.firstAt, count);
        event(out, chunk(m, id, created, "", finish(r)));
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private String chunk(Served m, String id, long created, String text, String finish) {
        ObjectNode body = json.createObjectNode().put("id", id).put("object", "text_completion").put("created", created)
                .put("model", m.name);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("text", text).put("index", 0).putNull("logprobs");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        return body.toString();
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void plan(Context ctx) {
        Served m = adminModel(ctx);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", m.name);
        body.put("epoch", m.orchestrator.epoch());
        body.put("stages", m.orchestrator.currentPlan());
        List<Map<String, Object>> switches = m.orchestrator.decisions().entries("switch").stream()
                .filter(e -> !e.containsKey("privacy_class")).toList();
        body.put("last_switch", switches.isEmpty() ? null : switches.getLast());
        body.put("privacy_classes", new java.util.TreeSet<>(m.orchestrator.privacyClasses()));
        body.put("privacy_routes", m.orchestrator.classPlans());
        body.put("served_models", List.copyOf(served.keySet()));
        ctx.contentType("application/json").result(write(body));
    }

    private void cluster(Context ctx) {
        List<Map<String, Object>> nodes = new ArrayList<>();
        Map<String, Double> links = new java.util.TreeMap<>();
        for (String n : readyWorkers()) {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("name", n);
            List<String> models = new ArrayList<>();
            for (Served m : served.values()) {
                if (m.orchestrator.readyWorkers().contains(n)) {
                    node.putIfAbsent("address", m.orchestrator.address(n));
                    models.add(m.name);
                }
            }
            node.put("ready_for", models);
            node.put("drained", served.values().stream().anyMatch(m -> m.orchestrator.drainedNodes().contains(n)));
            nodes.add(node);
        }
        // every orchestrator estimates the same links from the same workers' transfers; the newest model's wins a tie
        served.values().forEach(m -> links.putAll(m.orchestrator.monitor().estimates()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("nodes", nodes);
        body.put("links", links);
        List<Map<String, Object>> series = new ArrayList<>();
        for (Served m : served.values()) {
            for (var x : m.orchestrator.monitor().series()) {
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("time_ms", x.atMs());
                p.put("link", x.from() + "->" + x.to());
                p.put("bandwidth_bytes_per_s", x.bandwidthBytesPerS());
                series.add(p);
            }
        }
        series.sort(java.util.Comparator.comparingLong(HttpApi::timeOf));
        body.put("link_series", series.subList(Math.max(0, series.size() - LINK_SERIES), series.size()));
        ctx.contentType("application/json").result(write(body));
    }

    /**
     * The decision logs of every model (or of {@code ?model=}), each entry with its model, in time
     * order; as server-sent events that go on with every new entry when the client asks for
     * {@code text/event-stream} (or {@code ?follow=true}).
     */
    private void events(Context ctx) throws Exception {
        String only = ctx.queryParam("model");
        List<Served> models = only == null || only.isEmpty() ? List.copyOf(served.values()) : List.of(served(only));
        String accept = ctx.header("Accept");
        boolean follow = "true".equals(ctx.queryParam("follow")) || (accept != null && accept.contains("text/event-stream"));
        record Fresh(Map<String, Object> entry, Served model) {}
        BlockingQueue<Fresh> fresh = new java.util.concurrent.ArrayBlockingQueue<>(FOLLOW_QUEUE);
        java.util.concurrent.atomic.AtomicBoolean overflow = new java.util.concurrent.atomic.AtomicBoolean();
        Map<Served, java.util.function.Consumer<Map<String, Object>>> followers = new LinkedHashMap<>();
        if (follow) { // follow before reading the past, or an entry added in between is lost
            for (Served m : models) {
                java.util.function.Consumer<Map<String, Object>> f = e -> {
                    if (!fresh.offer(new Fresh(e, m))) {
                        overflow.set(true);
                    }
                };
                followers.put(m, f);
                m.orchestrator.decisions().follow(f);
            }
        }
        try {
            List<Map<String, Object>> all = new ArrayList<>();
            // the log hands followers the entry it keeps: one seen in the past is not sent again
            java.util.Set<Map<String, Object>> past = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (Served m : models) {
                for (Map<String, Object> e : m.orchestrator.decisions().entries()) {
                    past.add(e);
                    all.add(tagged(e, m));
                }
            }
            all.sort(java.util.Comparator.comparingLong(HttpApi::timeOf));
            if (!follow) {
                ctx.contentType("application/json").result(write(Map.of("events", all)));
                return;
            }
            ctx.status(200).contentType("text/event-stream").header("Cache-Control", "no-cache");
            OutputStream out = ctx.res().getOutputStream();
            for (Map<String, Object> e : all) {
                event(out, write(e));
            }
            long lastWrite = System.nanoTime();
            while (!closed) {
                Fresh e = fresh.poll(250, TimeUnit.MILLISECONDS);
                if (overflow.get()) {
                    event(out, "{\"error\": {\"message\": \"the client fell behind by " + FOLLOW_QUEUE
                            + " events; reconnect\", \"code\": \"too_slow\"}}");
                    return;
                }
                if (e != null) {
                    if (!past.contains(e.entry())) {
                        event(out, write(tagged(e.entry(), e.model())));
                    }
                    lastWrite = System.nanoTime();
                } else if (System.nanoTime() - lastWrite > 15_000_000_000L) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8)); // finds a client that went away
                    out.flush();
                    lastWrite = System.nanoTime();
                }
            }
        } catch (IOException gone) {
            // the client disconnected
        } finally {
            followers.forEach((m, f) -> m.orchestrator.decisions().unfollow(f));
        }
    }

    private static Map<String, Object> tagged(Map<String, Object> e, Served m) {
        Map<String, Object> t = new LinkedHashMap<>(e);
        t.put("model", m.name);
        return t;
    }

    private static long timeOf(Map<String, Object> e) {
        return e.get("time_ms") instanceof Number n ? n.longValue() : 0;
    }

    /** Re-plans {@code ?model=}, or every model. */
    private void replan(Context ctx) {
        String only = ctx.queryParam("model");
        Map<String, Object> plans = new LinkedHashMap<>();
        for (Served m : only == null || only.isEmpty() ? served.values() : List.of(served(only))) {
            m.orchestrator.replan("an operator asked (POST /api/replan)");
            plans.put(m.name, m.orchestrator.currentPlan());
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("stages", plans.values().iterator().next());
        body.put("plans", plans);
        ctx.status(202).contentType("application/json").result(write(body));
    }

    private static final Set<String> POLICY_FIELDS = Set.of("objective", "latency_slo_ms", "min_throughput_rps", "max_stages");

    /** {@code PUT /api/policy}: the objective and bounds of {@code ?model=} (else every model); fields left out stay. */
    private void policy(Context ctx) {
        JsonNode b = body(ctx);
        only(b, POLICY_FIELDS, Set.of());
        String only = ctx.queryParam("model");
        Map<String, Object> out = new LinkedHashMap<>();
        List<Served> models = only == null || only.isEmpty() ? List.copyOf(served.values()) : List.of(served(only));
        List<io.edgesplit.core.plan.Policy> next = new ArrayList<>();
        for (Served m : models) { // all checked before any is changed
            io.edgesplit.core.plan.Policy p = m.orchestrator.policy();
            if (b.has("objective")) {
                String o = b.get("objective").asText();
                try {
                    p = p.withObjective(io.edgesplit.core.plan.Objective.valueOf(o.toUpperCase(java.util.Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw ApiError.badParam("objective", "'objective' must be latency, throughput, energy, cost or weighted, not '"
                            + o + "'");
                }
            }
            if (b.has("latency_slo_ms")) {
                p = p.withSlo(nonNegative(b, "latency_slo_ms"));
            }
            if (b.has("min_throughput_rps")) {
                p = p.withMinThroughput(nonNegative(b, "min_throughput_rps"));
            }
            if (b.has("max_stages")) {
                int k = integer(b, "max_stages", 1);
                if (k < 1) {
                    throw ApiError.badParam("max_stages", "'max_stages' must be >= 1");
                }
                p = p.withMaxStages(k);
            }
            next.add(p);
        }
        for (int i = 0; i < models.size(); i++) {
            Served m = models.get(i);
            m.orchestrator.policy(next.get(i), "an operator set it (PUT /api/policy)");
            Map<String, Object> r = new LinkedHashMap<>();
            io.edgesplit.core.plan.Policy p = m.orchestrator.policy();
            r.put("objective", p.objective().name().toLowerCase(java.util.Locale.ROOT));
            r.put("latency_slo_ms", p.latencySloMs());
            r.put("min_throughput_rps", p.minThroughputRps());
            r.put("max_stages", p.maxStages());
            r.put("stages", m.orchestrator.currentPlan());
            out.put(m.name, r);
        }
        ctx.contentType("application/json").result(write(Map.of("policies", out)));
    }

    private static double nonNegative(JsonNode b, String field) {
        double v = number(b, field, 0);
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw ApiError.badParam(field, "'" + field + "' must be a finite number >= 0 (0: none)");
        }
        return v;
    }

    /** {@code POST|DELETE /api/nodes/{name}/drain}: every model moves off the node (live), or may use it again. */
    private void drain(Context ctx, boolean drain) {
        String node = ctx.pathParam("name");
        boolean known = false;
        Map<String, Object> plans = new LinkedHashMap<>();
        Map<String, Object> classRoutes = new LinkedHashMap<>();
        for (Served m : served.values()) {
            known |= m.orchestrator.drain(node, drain, "an operator asked (" + ctx.method() + " " + ctx.path() + ")");
            plans.put(m.name, m.orchestrator.currentPlan());
            classRoutes.put(m.name, m.orchestrator.classPlans()); // a class with no other placement is refused meanwhile
        }
        if (!known) {
            throw new ApiError(404, "invalid_request_error", null, "node_not_found", "no worker named '" + node + "' joined");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("node", node);
        body.put("drained", drain);
        body.put("plans", plans);
        body.put("privacy_routes", classRoutes);
        ctx.status(drain ? 202 : 200).contentType("application/json").result(write(body));
    }

    private String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        app.stop();
        metrics.close();
        served.values().forEach(Served::close);
    }
}
