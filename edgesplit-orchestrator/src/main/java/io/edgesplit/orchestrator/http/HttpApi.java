package io.edgesplit.orchestrator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.orchestrator.Decoding;
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
 * The orchestrator's HTTP surface: the OpenAI-compatible completions API for its generative
 * model (streamed as server-sent events when asked), the admin API (cluster, plan, decision log,
 * re-plan) and Prometheus metrics. Errors come in OpenAI's JSON shape with the status a client
 * expects. Requests beyond {@code maxInFlight} are refused with 429 and Retry-After at once.
 */
public final class HttpApi implements AutoCloseable {
    /** Largest request body accepted. */
    static final long MAX_BODY_BYTES = 1 << 20;
    private static final Set<String> COMPLETION_FIELDS = Set.of("model", "prompt", "max_tokens", "temperature", "top_p",
            "seed", "stream", "n", "user");
    private static final Set<String> UNSUPPORTED = Set.of("suffix", "logprobs", "echo", "stop", "presence_penalty",
            "frequency_penalty", "best_of", "logit_bias", "stream_options", "top_k");

    private final Orchestrator orchestrator;
    private final Javalin app;
    private final ObjectMapper json = new ObjectMapper();
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Semaphore admission;
    /** Tokens of the completions running, by sequence id, as the gateway samples them. */
    private final Map<String, Tokens> streams = new ConcurrentHashMap<>();

    private static final class Tokens {
        final BlockingQueue<Integer> queue = new LinkedBlockingQueue<>();
        volatile long firstAt;
    }
    private final AtomicLong ids = new AtomicLong();
    private final Duration planTimeout;
    private volatile boolean sinkInstalled;
    /** The served model's tokenizer, opened at the first completion and kept (guarded by this). */
    private Tokenizer tokenizer;

    /** Settings: the port (0: any), how many completions may run at once, how long to wait for a first plan. */
    public record Options(int port, int maxInFlight, Duration planTimeout) {
        public Options {
            if (maxInFlight < 1) {
                throw EdgeSplitException.invalidArgument("http.max-in-flight must be >= 1: " + maxInFlight);
            }
        }
    }

    private HttpApi(Orchestrator orchestrator, Options options) {
        this.orchestrator = orchestrator;
        this.admission = new Semaphore(options.maxInFlight());
        this.planTimeout = options.planTimeout();
        Gauge.builder("edgesplit_plan_epoch", orchestrator, o -> o.epoch()).description("epoch of the plan serving now")
                .register(metrics);
        Gauge.builder("edgesplit_plan_stages", orchestrator, o -> {
            List<String> p = o.currentPlan();
            return p == null ? 0 : p.size();
        }).description("stages of the plan serving now").register(metrics);
        Gauge.builder("edgesplit_workers_ready", orchestrator, o -> o.readyWorkers().size()).register(metrics);
        Gauge.builder("edgesplit_requests_in_flight", admission, s -> options.maxInFlight() - s.availablePermits())
                .register(metrics);
        Gauge.builder("edgesplit_migrations", orchestrator, o -> o.decisions().entries("switch").size())
                .description("plan switches (migrations) so far").register(metrics);
        this.app = Javalin.create(config -> {
            config.jetty.port = options.port();
            config.jetty.host = "127.0.0.1";
            config.http.maxRequestSize = MAX_BODY_BYTES;
            config.concurrency.useVirtualThreads = true;
            config.startup.showJavalinBanner = false;
            config.routes.get("/v1/models", this::models);
            config.routes.post("/v1/completions", this::completions);
            config.routes.get("/api/plan", this::plan);
            config.routes.get("/api/cluster", this::cluster);
            config.routes.get("/api/events", this::events);
            config.routes.post("/api/replan", this::replan);
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(metrics.scrape()));
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

    /** Starts the API on loopback at {@code options.port()}. */
    public static HttpApi start(Orchestrator orchestrator, Options options) {
        HttpApi api = new HttpApi(orchestrator, options);
        api.app.start();
        return api;
    }

    public int port() {
        return app.port();
    }

    public PrometheusMeterRegistry metrics() {
        return metrics;
    }

    private void error(Context ctx, ApiError e) {
        Counter.builder("edgesplit_rejected_requests_total").tag("reason", e.code()).register(metrics).increment();
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
        ObjectNode m = body.putArray("data").addObject();
        m.put("id", orchestrator.modelName()).put("object", "model").put("created", 0).put("owned_by", "edgesplit");
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
    private record Completion(String prompt, int maxTokens, Sampling sampling, boolean stream) {}

    private Completion completion(JsonNode b) {
        for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (UNSUPPORTED.contains(f)) {
                throw ApiError.badParam(f, "parameter '" + f + "' is not supported by EdgeSplit");
            }
            if (!COMPLETION_FIELDS.contains(f)) {
                throw ApiError.badParam(f, "unknown parameter '" + f + "'");
            }
        }
        JsonNode model = b.get("model");
        if (model == null || !model.isTextual()) {
            throw ApiError.badParam("model", "'model' is required (a string)");
        }
        if (!model.asText().equals(orchestrator.modelName())) {
            throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "the model '" + model.asText()
                    + "' does not exist here (served: " + orchestrator.modelName() + ")");
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
        int context = orchestrator.context();
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
        return new Completion(prompt, maxTokens, new Sampling(temperature, 0, topP, seed), s != null && s.asBoolean());
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

    private Decoding decoding() {
        Decoding d;
        try {
            d = orchestrator.decoding(planTimeout);
        } catch (EdgeSplitException e) {
            if (e.code() == io.edgesplit.core.error.ErrorCode.INVALID_ARGUMENT) {
                throw new ApiError(400, "invalid_request_error", "model", "model_not_generative", e.getMessage());
            }
            throw new ApiError(503, "server_error", null, "no_route", "no plan serves the model: " + e.getMessage());
        }
        if (!sinkInstalled) {
            synchronized (this) {
                if (!sinkInstalled) {
                    d.sink((seq, token) -> {
                        Tokens q = streams.get(seq);
                        if (q != null) {
                            if (q.firstAt == 0) {
                                q.firstAt = System.nanoTime();
                            }
                            q.queue.add(token);
                        }
                    });
                    sinkInstalled = true;
                }
            }
        }
        return d;
    }

    private void completions(Context ctx) throws Exception {
        long t0 = System.nanoTime();
        Completion c = completion(body(ctx));
        Decoding d = decoding();
        if (!admission.tryAcquire()) {
            throw new ApiError(429, "rate_limit_error", null, "overloaded", "too many requests in flight; retry shortly");
        }
        String id = "cmpl-" + ids.incrementAndGet();
        Tokens tokens = new Tokens();
        streams.put(id, tokens);
        try {
            Tokenizer tok = tokenizer();
            int[] prompt = tok.encode(c.prompt());
            if (prompt.length + c.maxTokens() > orchestrator.context()) {
                throw ApiError.badParam(c.prompt().isEmpty() ? "max_tokens" : "prompt", "the prompt has " + prompt.length
                        + " tokens and max_tokens is " + c.maxTokens() + ": over the model's context of "
                        + orchestrator.context() + " tokens");
            }
            CompletableFuture<Decoding.Result> done = d.start(new Decoding.Request(id, prompt, c.sampling(), c.maxTokens(),
                    tok.stopTokens(), Gateway.Privacy.NONE));
            TextStream text = new TextStream(tok, prompt[prompt.length - 1]);
            long created = System.currentTimeMillis() / 1000;
            if (c.stream()) {
                stream(ctx, id, created, done, tokens, text, t0);
            } else {
                Decoding.Result r = done.get(10, TimeUnit.MINUTES);
                StringBuilder all = new StringBuilder();
                for (int t : r.tokens()) {
                    all.append(text.add(t));
                }
                record(t0, tokens.firstAt, r.tokens().length);
                ObjectNode body = json.createObjectNode().put("id", id).put("object", "text_completion").put("created", created)
                        .put("model", orchestrator.modelName());
                ObjectNode choice = body.putArray("choices").addObject();
                choice.put("text", all.toString()).put("index", 0).putNull("logprobs").put("finish_reason", finish(r));
                body.putObject("usage").put("prompt_tokens", prompt.length).put("completion_tokens", r.tokens().length)
                        .put("total_tokens", prompt.length + r.tokens().length);
                ctx.contentType("application/json").result(body.toString());
            }
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            throw new ApiError(503, "server_error", null, "generation_failed", "generation failed: " + cause.getMessage());
        } finally {
            streams.remove(id);
            admission.release();
        }
        Timer.builder("edgesplit_http_request_seconds").tag("endpoint", "completions").publishPercentileHistogram()
                .register(metrics).record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }

    private synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            var ref = orchestrator.model().model().tokenizer();
            if (ref == null) {
                throw new ApiError(400, "invalid_request_error", "model", "no_tokenizer", orchestrator.modelName()
                        + " comes without a tokenizer");
            }
            tokenizer = ref.open();
        }
        return tokenizer;
    }

    private static String finish(Decoding.Result r) {
        return switch (r.finishReason()) {
            case "stop" -> "stop";
            default -> "length";
        };
    }

    private void record(long t0, long firstTokenAt, int tokens) {
        if (firstTokenAt > 0) {
            Timer.builder("edgesplit_time_to_first_token_seconds").publishPercentileHistogram().register(metrics)
                    .record(firstTokenAt - t0, TimeUnit.NANOSECONDS);
            if (tokens > 1) {
                Timer.builder("edgesplit_time_per_output_token_seconds").publishPercentileHistogram().register(metrics)
                        .record((System.nanoTime() - firstTokenAt) / (tokens - 1), TimeUnit.NANOSECONDS);
            }
        }
        DistributionSummary.builder("edgesplit_completion_tokens").register(metrics).record(tokens);
    }

    /** Server-sent events: a chunk per token as the gateway samples it, then a last chunk and [DONE]. */
    private void stream(Context ctx, String id, long created, CompletableFuture<Decoding.Result> done,
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
            event(out, chunk(id, created, text.add(t), null));
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
        record(t0, tokens.firstAt, count);
        event(out, chunk(id, created, "", finish(r)));
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private String chunk(String id, long created, String text, String finish) {
        ObjectNode body = json.createObjectNode().put("id", id).put("object", "text_completion").put("created", created)
                .put("model", orchestrator.modelName());
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
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", orchestrator.modelName());
        body.put("epoch", orchestrator.epoch());
        body.put("stages", orchestrator.currentPlan());
        List<Map<String, Object>> switches = orchestrator.decisions().entries("switch");
        body.put("last_switch", switches.isEmpty() ? null : switches.getLast());
        ctx.contentType("application/json").result(write(body));
    }

    private void cluster(Context ctx) {
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (String n : orchestrator.readyWorkers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", n);
            m.put("address", orchestrator.address(n));
            nodes.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("nodes", nodes);
        body.put("links", orchestrator.monitor().estimates());
        ctx.contentType("application/json").result(write(body));
    }

    private void events(Context ctx) {
        ctx.contentType("application/json").result(write(Map.of("events", orchestrator.decisions().entries())));
    }

    private void replan(Context ctx) {
        orchestrator.replan("an operator asked (POST /api/replan)");
        ctx.status(202).contentType("application/json").result(write(Map.of("stages", orchestrator.currentPlan())));
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
        app.stop();
        metrics.close();
        synchronized (this) {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }
}
