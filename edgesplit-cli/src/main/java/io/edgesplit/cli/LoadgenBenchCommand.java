package io.edgesplit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.bench.loadgen.LoadGen;
import io.edgesplit.bench.loadgen.Scenario;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.orchestrator.AdaptationScenario;
import io.edgesplit.orchestrator.DemoTexts;
import io.edgesplit.orchestrator.LocalSite;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench loadgen}: an MLPerf LoadGen scenario against EdgeSplit's OpenAI-compatible
 * HTTP API (a running {@code edgesplit orchestrator} or {@code edgesplit demo --keep-running}).
 * Encoders get {@code /v1/embeddings} of one paragraph per sample; generative models streamed
 * {@code /v1/completions}, whose first token and output length give time to first token and time
 * per output token. Requests go out asynchronously: no thread waits per request.
 */
@Command(name = "loadgen", description = "MLPerf LoadGen scenarios (single-stream, multi-stream, server, offline) against EdgeSplit's HTTP API.")
final class LoadgenBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scenario", required = true, paramLabel = "S", description = "single-stream, multi-stream, server or offline")
    String scenario;

    @Option(names = "--model", required = true, paramLabel = "M", description = "a model the API serves (GET /v1/models)")
    String model;

    @Option(names = "--url", paramLabel = "URL", description = "the API. Default: ${DEFAULT-VALUE}")
    String url = "http://127.0.0.1:8080";

    @Option(names = "--cluster", paramLabel = "FILE", description = "start the cluster of this file here (one worker process per "
            + "'measure' node, EMULATED speeds and links) for each --policy, instead of using --url")
    java.nio.file.Path cluster;

    @Option(names = "--policy", split = ",", paramLabel = "P", description = "with --cluster: adaptive, static, or a baseline "
            + "(single-node, neurosurgeon, memory-proportional, equal-split, petals); several run one after another. Default: adaptive")
    List<String> policies = List.of(LocalSite.ADAPTIVE);

    @Option(names = "--bandwidth-trace", paramLabel = "T", description = "with --cluster: during each run a link follows this "
            + "bandwidth trace (builtin:norway_bus_1, builtin:norway_car_1, builtin:fcc_10322, or a 'seconds Mbps' file), EMULATED")
    String bandwidthTrace;

    @Option(names = "--bandwidth-link", split = ",", paramLabel = "A,B", description = "the traced link (default: the busiest "
            + "link of the first policy's plan, the same for every policy)")
    List<String> bandwidthLink;

    @Option(names = "--bandwidth-start-s", paramLabel = "S", description = "where in the bandwidth trace to start. Default: ${DEFAULT-VALUE}")
    double bandwidthStartS = 0;

    @Option(names = "--bandwidth-speedup", paramLabel = "X", description = "bandwidth trace seconds per second. Default: ${DEFAULT-VALUE}")
    double bandwidthSpeedup = 1;

    @Option(names = "--site", paramLabel = "TEXT", description = "with --url: how the site behind it runs, for the report "
            + "(what is emulated and what is real; testbed/loadgen.sh says it for the network-namespace testbed)")
    String site;

    @Option(names = "--api-key-env", paramLabel = "VAR", description = "send the API key in this environment variable")
    String apiKeyEnv;

    @Option(names = "--privacy-class", paramLabel = "C", description = "run every request in this privacy class")
    String privacyClass;

    @Option(names = "--min-duration-s", paramLabel = "S", description = "run at least this long (official: 600). Default: ${DEFAULT-VALUE}")
    double minDurationS = 600;

    @Option(names = "--min-queries", paramLabel = "N", description = "issue at least this many queries (default: the scenario's official minimum)")
    Long minQueries;

    @Option(names = "--samples", paramLabel = "N", description = "offline: samples in its one query (official: 24576)")
    Integer samples;

    @Option(names = "--max-in-flight", paramLabel = "N", description = "requests the client keeps open at once; the rest wait "
            + "in it, as behind a bounded connection pool (the API refuses more than its http.max-in-flight with 429). "
            + "Default: ${DEFAULT-VALUE}, below the API's default of 64: a streamed answer's last bytes can reach the client "
            + "before the API has freed its slot")
    int maxInFlight = 48;

    @Option(names = "--target-qps", paramLabel = "Q", description = "server: Poisson arrival rate")
    double targetQps;

    @Option(names = "--latency-bound-ms", paramLabel = "MS", description = "server: the bound on the 99th percentile latency")
    double latencyBoundMs;

    @Option(names = "--ttft-bound-ms", paramLabel = "MS", description = "server, generative models: the bound on the 99th "
            + "percentile time to first token")
    double ttftBoundMs;

    @Option(names = "--tpot-bound-ms", paramLabel = "MS", description = "server, generative models: the bound on the 99th "
            + "percentile time per output token")
    double tpotBoundMs;

    @Option(names = "--search", split = ",", paramLabel = "LO,HI", description = "server: find the highest QPS within the bound between LO and HI")
    List<Double> search;

    @Option(names = "--search-steps", paramLabel = "N", description = "server search: bisection runs after both ends. Default: ${DEFAULT-VALUE}")
    int searchSteps = 4;

    @Option(names = "--max-tokens", paramLabel = "N", description = "generative models: tokens per completion. Default: ${DEFAULT-VALUE}")
    int maxTokens = 32;

    @Option(names = "--seed", paramLabel = "S", description = "seed of the server's arrivals. Default: ${DEFAULT-VALUE}")
    long seed = 42;

    @Option(names = "--trace", paramLabel = "T", description = "server: replay this trace's arrivals and request sizes "
            + "instead of Poisson arrivals (builtin:azure-conv, builtin:azure-code, or a CSV of that schema)")
    String trace;

    @Option(names = "--trace-start-s", paramLabel = "S", description = "where in the trace to start. Default: ${DEFAULT-VALUE}")
    double traceStartS = 0;

    @Option(names = "--trace-duration-s", paramLabel = "S", description = "how much of the trace to replay. Default: ${DEFAULT-VALUE}")
    double traceDurationS = 60;

    @Option(names = "--trace-speedup", paramLabel = "X", description = "compress the trace's time X times (below 1: stretch it). Default: ${DEFAULT-VALUE}")
    double traceSpeedup = 1;

    @Option(names = "--prompt-scale", paramLabel = "F", description = "trace prompt tokens times F (to fit the model's context). Default: ${DEFAULT-VALUE}")
    double promptScale = 0.0625;

    @Option(names = "--output-scale", paramLabel = "F", description = "trace output tokens times F, at most --max-tokens. Default: ${DEFAULT-VALUE}")
    double outputScale = 0.125;

    @Option(names = "--warmup-s", paramLabel = "S", description = "untimed samples one after another before each run (JIT, "
            + "connections): at least this long and until latencies are steady, at most 4 times it (0: none); with --cluster "
            + "the bandwidth trace starts after it; the command's first run warms up 3 times as long (this JVM's client, "
            + "and with --cluster its orchestrator, are cold only then). Default: ${DEFAULT-VALUE}")
    double warmupS = 5;

    /** Runs measured so far in this command: the first pays for this JVM's cold code, see {@link #warmupS}. */
    private int runsMeasured;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    private final ObjectMapper mapper = new ObjectMapper();
    /** What the samples send, made at the first run. */
    private Sizes sizes;
    /** The model's tokenizer, when a trace sizes the prompts with it; closed at the end. */
    private io.edgesplit.onnx.text.Tokenizer tokenizer;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Override
    public Integer call() throws Exception {
        Scenario sc;
        try {
            sc = Scenario.parse(scenario);
        } catch (IllegalArgumentException e) {
            throw EdgeSplitException.invalidArgument("--scenario: " + e.getMessage());
        }
        if (maxInFlight < 1) {
            throw EdgeSplitException.invalidArgument("--max-in-flight must be >= 1: " + maxInFlight);
        }
        if (!(warmupS >= 0)) {
            throw EdgeSplitException.invalidArgument("--warmup-s must be >= 0");
        }
        if (!(minDurationS >= 0) || maxTokens < 1 || (minQueries != null && minQueries < 1) || (samples != null && samples < 1)) {
            throw EdgeSplitException.invalidArgument("--min-duration-s must be >= 0, --max-tokens, --min-queries and --samples >= 1");
        }
        if (trace != null && sc != Scenario.SERVER) {
            throw EdgeSplitException.invalidArgument("--trace replays arrivals: it goes with --scenario server");
        }
        if (sc == Scenario.SERVER && trace == null && search == null && !(targetQps > 0)) {
            throw EdgeSplitException.invalidArgument("the server scenario needs --target-qps Q, --search LO,HI or --trace T");
        }
        if (sc == Scenario.SERVER && trace == null && !(latencyBoundMs > 0) && !(ttftBoundMs > 0) && !(tpotBoundMs > 0)) {
            throw EdgeSplitException.invalidArgument("the server scenario needs --latency-bound-ms (or, for generative models, "
                    + "--ttft-bound-ms and --tpot-bound-ms)");
        }
        if (ttftBoundMs < 0 || tpotBoundMs < 0 || latencyBoundMs < 0) {
            throw EdgeSplitException.invalidArgument("latency bounds must be >= 0");
        }
        if (!(promptScale > 0) || !(outputScale > 0)) {
            throw EdgeSplitException.invalidArgument("--prompt-scale and --output-scale must be > 0");
        }
        if (search != null && (search.size() != 2 || !(search.get(0) > 0) || !(search.get(1) > search.get(0)))) {
            throw EdgeSplitException.invalidArgument("--search takes LO,HI with 0 < LO < HI");
        }
        String key = null;
        if (apiKeyEnv != null) {
            key = System.getenv(apiKeyEnv);
            if (key == null || key.isEmpty()) {
                throw EdgeSplitException.invalidArgument("--api-key-env: the environment variable " + apiKeyEnv + " is not set");
            }
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("benchmark", "loadgen");
        root.put("machine", BenchCommand.machine());
        root.put("command", BenchCommand.commandLine(spec));
        root.put("rules", "MLPerf Inference LoadGen scenarios, early stopping at 0.99 confidence");
        if (cluster == null) {
            root.put("emulated", site != null ? site : "whatever the EdgeSplit behind the URL emulates (device speeds, links: "
                    + "see its own output); the load and the measurements here are real");
            root.putAll(measure(sc, key, () -> { }));
            root.put("plan", servedPlan(key));
        } else {
            root.put("emulated", "device speeds and links as " + cluster.getFileName() + " says (EMULATED: workers stretch compute "
                    + "by 1/speed, senders delay by the link's rate and latency); processes, ONNX Runtime, gRPC and HTTP are real");
            root.put("cluster", cluster.toString());
            io.edgesplit.onnx.load.LoadedModel loaded = load();
            boolean generative = !io.edgesplit.onnx.graph.StatePair.detect(loaded.proto().getGraph().getInputList().stream()
                    .map(v -> v.getName()).toList(), loaded.proto().getGraph().getOutputList().stream().map(v -> v.getName())
                    .toList()).isEmpty();
            sizes = trace == null ? fixed(generative) : traced(generative, loaded);
            // encoders are profiled at the mean length of what the samples send, so that the bound is of these requests
            int profileTokens = generative ? 1 : meanTokens(loaded);
            root.put("profile_tokens", profileTokens);
            AdaptationScenario.Options site = AdaptationBenchCommand.options(ClusterFile.read(cluster), model, profileTokens, 1,
                    null, 0, 1, 0, 0);
            io.edgesplit.orchestrator.BandwidthTrace bw = bandwidthTrace == null ? null
                    : io.edgesplit.orchestrator.BandwidthTrace.read(bandwidthTrace);
            if (bandwidthLink != null && bandwidthLink.size() != 2) {
                throw EdgeSplitException.invalidArgument("--bandwidth-link takes A,B");
            }
            String[] traced = bandwidthLink == null ? null : bandwidthLink.toArray(String[]::new);
            Map<String, Map<String, Object>> byPolicy = new LinkedHashMap<>();
            for (String policy : policies) {
                try (LocalSite s = LocalSite.start(model, profileTokens, site.nodes(), site.links(), policy,
                        line -> spec.commandLine().getErr().println(line))) {
                    url = s.url();
                    if (bw != null) {
                        traced = traced != null ? traced : s.busiestLink(profileTokens);
                        root.put("bandwidth_trace", Map.of("trace", bw.name(), "link", traced[0] + "<->" + traced[1], "start_s",
                                bandwidthStartS, "speedup", bandwidthSpeedup, "emulated", true));
                    }
                    String[] link = bw == null ? null : traced;
                    PhysicalBound[] bound = new PhysicalBound[1];
                    Map<String, Object> m;
                    List<Map<String, Object>> switches;
                    try {
                        // the trace and the bound start with the measured run, after the warm-up
                        m = measure(sc, null, () -> {
                            if (link != null) {
                                s.followTrace(bw, bandwidthStartS, bandwidthSpeedup, link[0], link[1]);
                            }
                            bound[0] = new PhysicalBound(s, link);
                        });
                        s.stopTrace();
                        bound[0].close();
                        int perQuery = samples != null && sc == Scenario.OFFLINE ? samples : sc.samplesPerQuery;
                        m.put("physical_bound", bound[0].summary(m, generative, perQuery));
                        switches = s.orchestrator().decisions().entries("switch").stream()
                                .filter(e -> !"forced".equals(e.get("cause"))) // a baseline's placement is not a switch
                                .filter(e -> bound[0].offsetS(((Number) e.get("time_ms")).longValue()) >= 0)
                                .map(e -> {
                                    Map<String, Object> one = new LinkedHashMap<>();
                                    one.put("t_s", bound[0].offsetS(((Number) e.get("time_ms")).longValue()));
                                    one.put("to", e.get("chosen_plan"));
                                    one.put("cause", e.get("cause"));
                                    return one;
                                }).toList();
                    } finally {
                        if (bound[0] != null) {
                            bound[0].close();
                        }
                    }
                    m.put("plan", s.orchestrator().currentPlan());
                    m.put("plan_switches", switches.size());
                    m.put("switches", switches);
                    byPolicy.put(policy, m);
                }
            }
            root.put("policies", byPolicy);
            root.put("ratios_to_adaptive", ratios(byPolicy));
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } else {
            print(out, root);
        }
        return EdgeSplitCli.OK;
    }

    /** One scenario run (or server search, or trace replay) against the API at {@link #url}. */
    /** @param started called after the warm-up, as the measured run begins */
    private Map<String, Object> measure(Scenario sc, String key, Runnable started) throws Exception {
        boolean generative = kind(key).equals("completions");
        if (sizes == null) { // the same samples for every policy: the trace and the model's tokenizer are read once
            sizes = trace == null ? fixed(generative) : traced(generative, load());
        }
        if (!generative && (ttftBoundMs > 0 || tpotBoundMs > 0)) {
            throw EdgeSplitException.invalidArgument("--ttft-bound-ms and --tpot-bound-ms are for generative models; " + model
                    + " is an encoder");
        }
        LoadGen.SystemUnderTest sut = LoadGen.window(generative ? completions(key, sizes) : embeddings(key, sizes), maxInFlight);
        double warmS = warmupS * (runsMeasured++ == 0 ? 3 : 1);
        long warm;
        try {
            warm = LoadGen.warmUp(sut, Duration.ofMillis((long) (warmS * 1000)));
        } catch (IllegalStateException e) {
            throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.RUNTIME_FAILED, "loadgen: " + e.getMessage(), e);
        }
        started.run();
        Duration min = Duration.ofMillis((long) (minDurationS * 1000));
        LoadGen.Settings settings = new LoadGen.Settings(sc, min, minQueries != null ? minQueries : sc.officialMinQueries,
                min.multipliedBy(2).plusMinutes(2), sc == Scenario.SERVER ? Math.max(targetQps, 1e-9) : 0,
                (long) (latencyBoundMs * 1e6), samples != null && sc == Scenario.OFFLINE ? samples : sc.samplesPerQuery, seed)
                .withTokenBounds((long) (ttftBoundMs * 1e6), (long) (tpotBoundMs * 1e6));
        Map<String, Object> result;
        if (sizes.trace() != null) {
            LoadGen.Settings replay = new LoadGen.Settings(sc, Duration.ZERO, 1, sizes.trace().span().multipliedBy(2).plusMinutes(2),
                    1, (long) (latencyBoundMs * 1e6), 1, seed);
            result = LoadGen.summary(LoadGen.replay(replay, sizes.trace().arrivals(), sut));
            result.put("metric", "completed samples per second, replaying " + sizes.trace().name());
            result.put("trace", Map.of("name", sizes.trace().name(), "requests", sizes.trace().requests().size(), "span_s",
                    sizes.trace().span().toMillis() / 1000.0, "speedup", traceSpeedup, "prompt_scale", promptScale,
                    "output_scale", outputScale, "source", "Azure LLM inference trace 2023 (Patel et al., Splitwise, ISCA 2024; "
                    + "CC-BY 4.0)"));
            result.put("below_official_minimums", true);
            result.put("result_valid", null); // a trace replay is not one of MLPerf's runs
        } else {
            result = sc == Scenario.SERVER && search != null
                    ? LoadGen.searchServer(settings, sut, search.get(0), search.get(1), searchSteps)
                    : LoadGen.summary(LoadGen.run(settings, sut));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("system_under_test", Map.of("url", url, "model", model, "kind", generative ? "completions" : "embeddings",
                "privacy_class", privacyClass == null ? "" : privacyClass, "max_tokens", generative ? maxTokens : 0,
                "max_in_flight", maxInFlight));
        root.put("warmup", Map.of("seconds", warmS, "samples", warm, "measured", false));
        root.putAll(result);
        return root;
    }

    /** Each policy's metric and p90 latency over the adaptive one's (when adaptive ran). */
    private static Map<String, Object> ratios(Map<String, Map<String, Object>> byPolicy) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> base = byPolicy.get(LocalSite.ADAPTIVE);
        if (base == null) {
            return out;
        }
        for (var e : byPolicy.entrySet()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("result", ratio(e.getValue().get("result"), base.get("result")));
            r.put("p90_latency", ratio(p90(e.getValue()), p90(base)));
            out.put(e.getKey(), r);
        }
        return out;
    }

    private static Object p90(Map<String, Object> m) {
        return m.get("latency_ns") instanceof Map<?, ?> l ? l.get("p90") : null;
    }

    private static Double ratio(Object a, Object b) {
        return a instanceof Number x && b instanceof Number y && y.doubleValue() != 0 ? x.doubleValue() / y.doubleValue() : null;
    }

    private static void print(PrintWriter out, Map<String, Object> r) {
        if (r.get("policies") instanceof Map<?, ?> policies) {
            out.println(r.get("rules") + "; " + r.get("emulated"));
            Map<?, ?> ratios = (Map<?, ?>) r.get("ratios_to_adaptive");
            for (var e : policies.entrySet()) {
                Map<?, ?> m = (Map<?, ?>) e.getValue();
                out.printf(Locale.ROOT, "%-20s plan %s: %s = %s; p90 latency %s ns; ratios to adaptive %s%n", e.getKey(), m.get("plan"),
                        m.get("metric"), m.get("result"), p90(castMap(m)), ratios.get(e.getKey()));
            }
            return;
        }
        out.printf(Locale.ROOT, "%s on %s (%s)%n", r.get("scenario"), ((Map<?, ?>) r.get("system_under_test")).get("model"),
                r.get("rules"));
        out.println(r.get("metric") + ": " + r.get("result"));
        for (String k : List.of("queries", "samples", "failed_samples", "duration_s", "latency_ns", "time_to_first_token_ns",
                "time_per_output_token_ns", "early_stopping", "trials", "min_duration_met", "min_queries_met",
                "early_stopping_met", "result_valid", "below_official_minimums")) {
            if (r.containsKey(k)) {
                out.println("  " + k + ": " + r.get(k));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    private HttpRequest.Builder request(String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofMinutes(10));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (privacyClass != null) {
            b.header("X-EdgeSplit-Privacy-Class", privacyClass);
        }
        return b;
    }

    /** The plan the API serves the model on now, as its admin API tells (null when it does not say). */
    private List<String> servedPlan(String key) {
        try {
            HttpResponse<String> r = http.send(request("/api/plan?model=" + java.net.URLEncoder.encode(model,
                    java.nio.charset.StandardCharsets.UTF_8), key).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            List<String> stages = new java.util.ArrayList<>();
            mapper.readTree(r.body()).path("stages").forEach(n -> stages.add(n.asText()));
            return stages;
        } catch (Exception e) {
            return null; // the plan is context for the report, not a measurement
        }
    }

    /** The model's kind as the API lists it ("embeddings" or "completions"). */
    private String kind(String key) throws Exception {
        HttpResponse<String> r;
        try {
            r = http.send(request("/v1/models", key).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw EdgeSplitException.invalidArgument("--url: nothing answers at " + url + " (" + e.getMessage() + "); start "
                    + "'edgesplit orchestrator' or 'edgesplit demo --keep-running' first");
        }
        if (r.statusCode() != 200) {
            throw EdgeSplitException.invalidArgument("GET " + url + "/v1/models answered " + r.statusCode() + ": " + r.body());
        }
        for (JsonNode m : mapper.readTree(r.body()).path("data")) {
            if (m.path("id").asText().equals(model)) {
                return m.path("kind").asText("embeddings");
            }
        }
        throw EdgeSplitException.invalidArgument("--model: " + url + " does not serve '" + model + "'");
    }

    /**
     * What each sample sends: its text (the input to embed, or the prompt) and, for completions, the
     * tokens to generate; and the trace they come from, if any.
     */
    record Sizes(java.util.function.LongFunction<String> text, java.util.function.LongToIntFunction outputTokens,
            io.edgesplit.bench.loadgen.AzureTrace trace) {}

    /** The project's paragraphs (embeddings) or story prompts (completions, --max-tokens each). */
    private Sizes fixed(boolean generative) {
        List<String> texts = generative ? DemoTexts.PROMPTS : DemoTexts.paragraphs();
        return new Sizes(i -> texts.get((int) (i % texts.size())), i -> maxTokens, null);
    }

    /**
     * The trace's requests, scaled to the model: prompts of (prompt tokens x --prompt-scale) tokens
     * as the model's own tokenizer counts them, outputs of (output tokens x --output-scale) tokens,
     * both within its context.
     */
    private Sizes traced(boolean generative, io.edgesplit.onnx.load.LoadedModel m) {
        io.edgesplit.bench.loadgen.AzureTrace t;
        try {
            t = io.edgesplit.bench.loadgen.AzureTrace.read(trace).window(traceStartS, traceDurationS, traceSpeedup);
        } catch (IllegalArgumentException e) {
            throw EdgeSplitException.invalidArgument("--trace: " + e.getMessage());
        }
        if (m.tokenizer() == null) {
            throw EdgeSplitException.invalidArgument("--trace sizes prompts with the model's tokenizer; " + model + " has none");
        }
        int context = m.contextLength();
        io.edgesplit.onnx.text.Tokenizer tok = tokenizer(m);
        String[] words = String.join(" ", DemoTexts.paragraphs()).split(" ");
        Map<Integer, String> byLength = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.function.IntFunction<String> firstWords = w -> {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < w; i++) {
                b.append(i == 0 ? "" : " ").append(words[i % words.length]);
            }
            return b.toString();
        };
        // the fewest words of the paragraphs (repeated) that make k tokens, by bisection
        java.util.function.IntFunction<String> textOf = n -> byLength.computeIfAbsent(n, k -> {
            int lo = 1;
            int hi = 2 * k + 2;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (tok.encode(firstWords.apply(mid)).length < k) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return firstWords.apply(lo);
        });
        List<io.edgesplit.bench.loadgen.AzureTrace.Request> q = t.requests();
        // the run issues each request once; the warm-up before it may go round the trace
        java.util.function.LongFunction<io.edgesplit.bench.loadgen.AzureTrace.Request> req = i -> q.get((int) (i % q.size()));
        java.util.function.LongToIntFunction out = i -> generative
                ? (int) Math.max(1, Math.min(maxTokens, Math.round(req.apply(i).outputTokens() * outputScale))) : 0;
        java.util.function.LongFunction<String> text = i -> {
            int room = generative ? context - out.applyAsInt(i) - 2 : context - 2;
            int n = (int) Math.max(1, Math.min(room, Math.round(req.apply(i).promptTokens() * promptScale)));
            return textOf.apply(n);
        };
        return new Sizes(text, out, t);
    }

    private io.edgesplit.onnx.load.LoadedModel load() {
        return new io.edgesplit.onnx.load.OnnxModelLoader(io.edgesplit.onnx.load.LoadLimits.defaults()).load(model);
    }

    /** The model's tokenizer, opened once (closed at the end of the command). */
    private io.edgesplit.onnx.text.Tokenizer tokenizer(io.edgesplit.onnx.load.LoadedModel m) {
        if (tokenizer == null) {
            tokenizer = m.tokenizer().open();
        }
        return tokenizer;
    }

    /** The mean token count of the first 256 samples' texts (64 when the model has no tokenizer). */
    private int meanTokens(io.edgesplit.onnx.load.LoadedModel m) {
        if (m.tokenizer() == null) {
            return 64;
        }
        io.edgesplit.onnx.text.Tokenizer tok = tokenizer(m);
        int n = sizes.trace() == null ? 256 : Math.min(256, sizes.trace().requests().size());
        long sum = 0;
        for (int i = 0; i < n; i++) {
            sum += tok.encode(sizes.text().apply(i)).length;
        }
        return (int) Math.max(1, Math.round((double) sum / Math.max(1, n)));
    }

    private LoadGen.SystemUnderTest embeddings(String key, Sizes sizes) {
        return sample -> {
            String body;
            try {
                body = mapper.writeValueAsString(Map.of("model", model, "input", sizes.text().apply(sample)));
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
            return http.sendAsync(request("/v1/embeddings", key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())
                    .thenApply(r -> {
                        if (r.statusCode() != 200) {
                            throw new IllegalStateException("embeddings answered " + r.statusCode() + ": " + r.body());
                        }
                        return LoadGen.Done.PLAIN;
                    });
        };
    }

    /** Streamed completions: the first chunk with text is the first token; every chunk with text is a token. */
    private LoadGen.SystemUnderTest completions(String key, Sizes sizes) {
        return sample -> {
            String body;
            try {
                body = mapper.writeValueAsString(Map.of("model", model, "prompt", sizes.text().apply(sample),
                        "max_tokens", sizes.outputTokens().applyAsInt(sample), "temperature", 0, "stream", true));
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
            CompletableFuture<LoadGen.Done> done = new CompletableFuture<>();
            AtomicLong first = new AtomicLong();
            AtomicInteger tokens = new AtomicInteger();
            StringBuilder error = new StringBuilder();
            Flow.Subscriber<String> lines = new Flow.Subscriber<>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(String line) {
                    if (!line.startsWith("data: ")) {
                        if (!line.isBlank()) {
                            error.append(line);
                        }
                        return;
                    }
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) {
                        return;
                    }
                    try {
                        JsonNode n = mapper.readTree(data);
                        if (n.has("error")) {
                            error.append(n.path("error").path("message").asText());
                            return;
                        }
                        if (!n.path("choices").path(0).path("text").asText().isEmpty()) {
                            first.compareAndSet(0, System.nanoTime());
                            tokens.incrementAndGet();
                        }
                    } catch (Exception e) {
                        error.append(data);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    done.completeExceptionally(t);
                }

                @Override
                public void onComplete() {
                    if (error.length() > 0 || tokens.get() == 0) {
                        done.completeExceptionally(new IllegalStateException("completion failed: " + error));
                    } else {
                        done.complete(new LoadGen.Done(first.get(), tokens.get()));
                    }
                }
            };
            http.sendAsync(request("/v1/completions", key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.fromLineSubscriber(lines))
                    .whenComplete((r, err) -> {
                        if (err != null) {
                            done.completeExceptionally(err);
                        } else if (r.statusCode() != 200) {
                            done.completeExceptionally(new IllegalStateException("completions answered " + r.statusCode()
                                    + ": " + error));
                        }
                    });
            return done;
        };
    }
}
