package io.edgesplit.cli;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.cli.config.ConfigNode;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.orchestrator.DecisionLog;
import io.edgesplit.orchestrator.Decoding;
import io.edgesplit.orchestrator.Migrator;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.orchestrator.http.HttpApi;
import io.edgesplit.worker.Gateway;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit orchestrator --config FILE}: the control plane as a process. Workers join it
 * ({@code edgesplit worker --join HOST:PORT}); it profiles them, plans, loads, and keeps the plan
 * right while it runs, printing its decision log as JSON lines. {@code --sequences N} runs N
 * generative sequences through it (a built-in load until the HTTP API exists), printing their text.
 */
@Command(name = "orchestrator", description = "Run the orchestrator: workers join it; it plans, migrates and recovers, logging each decision.")
final class OrchestratorCommand implements Callable<Integer> {
    static final Set<String> KEYS = Set.of("model", "models", "heartbeat-ms", "dead-after-ms", "tick-ms", "switch-factor", "horizon-s",
            "min-relative-gain", "max-switches-per-minute", "method", "min-workers", "profile-tokens", "message-overhead-ms",
            "decision-log", "step-timeout-ms", "api-keys");

    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "cluster YAML: nodes (power, cost, memory), links, policy, and an 'orchestrator' section")
    Path config;

    @Option(names = "--port", paramLabel = "P", description = "port workers join at (with several models: P, P+1, ... one per model; 0: any). Default: ${DEFAULT-VALUE}")
    int port = 7070;

    @Option(names = "--gateway-port", paramLabel = "P", description = "port workers deliver results to (0: any). Default: ${DEFAULT-VALUE}")
    int gatewayPort = 0;

    @Option(names = "--host", paramLabel = "HOST", description = "the host workers reach this process at. Default: ${DEFAULT-VALUE}")
    String host = "127.0.0.1";

    @Option(names = "--http-port", paramLabel = "P",
            description = "serve the HTTP API (OpenAI-compatible /v1, admin /api, /metrics) on this loopback port (0: any; -1: none). Default: ${DEFAULT-VALUE}")
    int httpPort = 8080;

    @Option(names = "--model", paramLabel = "MODEL", description = "serve this model only (overrides orchestrator.model and orchestrator.models)")
    String model;

    @Option(names = "--sequences", paramLabel = "N", description = "generative models: run N sequences once the first plan serves, print their text, keep serving")
    int sequences = 0;

    @Option(names = "--max-tokens", paramLabel = "N", description = "tokens per sequence. Default: ${DEFAULT-VALUE}")
    int maxTokens = 64;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535 || gatewayPort < 0 || gatewayPort > 65535 || httpPort < -1 || httpPort > 65535
                || sequences < 0 || maxTokens < 1) {
            throw EdgeSplitException.invalidArgument("ports must be 0-65535 (--http-port -1: none), --sequences >= 0 and --max-tokens >= 1");
        }
        ClusterFile file = ClusterFile.read(config);
        List<OrchestratorConfig> cfgs = configs(file, model);
        Map<String, HttpApi.ApiKey> keys = apiKeys(file);
        PrintWriter out = spec.commandLine().getOut();
        List<Orchestrator> started = new ArrayList<>();
        try {
            for (int i = 0; i < cfgs.size(); i++) {
                started.add(Orchestrator.start(cfgs.get(i), host, port == 0 ? 0 : port + i, gatewayPort == 0 ? 0 : gatewayPort + i));
            }
            return serve(started, keys, out);
        } finally {
            for (Orchestrator o : started) {
                o.close();
            }
        }
    }

    private int serve(List<Orchestrator> orchestrators, Map<String, HttpApi.ApiKey> keys, PrintWriter out) throws Exception {
        Orchestrator o = orchestrators.getFirst();
        OrchestratorConfig cfg = o.config();
        try (HttpApi api = httpPort < 0 ? null : HttpApi.start(orchestrators, new HttpApi.Options(httpPort, 64,
                Duration.ofMinutes(5), keys))) {
            if (api != null) {
                spec.commandLine().getErr().printf(Locale.ROOT, "HTTP API on http://127.0.0.1:%d (/v1/completions, /v1/embeddings, "
                        + "/v1/models, /api/plan, /api/cluster, /api/events, /api/policy, /api/nodes/NAME/drain, /metrics)%s%n",
                        api.port(), keys.isEmpty() ? "" : "; API keys required");
            }
            for (Orchestrator each : orchestrators) {
                each.decisions().follow(e -> {
                    synchronized (out) {
                        out.println(DecisionLog.line(e));
                        out.flush();
                    }
                });
            }
            String join = String.join(",", orchestrators.stream().map(each -> host + ":" + each.controlPort()).toList());
            spec.commandLine().getErr().printf(Locale.ROOT, "orchestrator for %s listening on %s (workers join with "
                    + "'edgesplit worker --join %s'); waiting for %d worker(s)%n", String.join(", ", orchestrators.stream()
                    .map(Orchestrator::modelName).toList()), join, join, cfg.minWorkers());
            spec.commandLine().getErr().flush();
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            if (sequences > 0) {
                Decoding d = o.decoding(Duration.ofHours(1));
                if (o.model().model().tokenizer() == null) {
                    throw EdgeSplitException.invalidArgument(cfg.model() + " comes without a tokenizer");
                }
                try (Tokenizer tokenizer = o.model().model().tokenizer().open()) {
                    int[] bos = tokenizer.encode("");
                    List<CompletableFuture<Decoding.Result>> runs = new ArrayList<>();
                    for (int i = 0; i < sequences; i++) {
                        runs.add(d.start(new Decoding.Request("cli" + i, bos, new Sampling(0.8, 0, 0.95, i), maxTokens,
                                tokenizer.stopTokens(), Gateway.Privacy.NONE)));
                    }
                    for (var f : runs) {
                        Decoding.Result r = f.get();
                        synchronized (out) {
                            out.println(r.id() + ": " + tokenizer.decode(r.tokens(), bos[bos.length - 1]).replace("\n", "\\n"));
                            out.flush();
                        }
                    }
                }
            }
            stop.await();
        }
        return EdgeSplitCli.OK;
    }

    /**
     * One orchestrator's configuration per model the file serves: {@code orchestrator.model}, or
     * each of {@code orchestrator.models} (a model, or {@code {model: M, policy: {...}}} with a
     * policy of its own instead of the file's); only {@code modelOverride} when given.
     */
    static List<OrchestratorConfig> configs(ClusterFile file, String modelOverride) {
        ConfigNode o = file.orchestrator();
        if (o != null) {
            o.only(KEYS);
        }
        if (modelOverride != null || o == null || !o.has("models")) {
            return List.of(config(file, modelOverride));
        }
        if (o.has("model")) {
            throw o.get("model").error("give 'model' or 'models', not both");
        }
        List<OrchestratorConfig> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        for (ConfigNode m : o.get("models").list()) {
            String name;
            io.edgesplit.core.plan.Policy policy = file.policy();
            if (m.node().isObject()) {
                m.only(Set.of("model", "policy"));
                name = m.get("model").text();
                if (m.has("policy")) {
                    policy = ClusterFile.policy(m.get("policy"), file.privacyClasses());
                }
            } else {
                name = m.text();
            }
            if (!seen.add(name)) {
                throw m.error("model '" + name + "' is listed twice");
            }
            OrchestratorConfig c = config(file, name).withPolicy(policy);
            if (c.decisionLog() != null) { // a log per model: decisions.jsonl -> decisions-builtin_minilm.jsonl
                String f = c.decisionLog().getFileName().toString();
                int dot = f.lastIndexOf('.') > 0 ? f.lastIndexOf('.') : f.length();
                c = c.withDecisionLog(c.decisionLog().resolveSibling(f.substring(0, dot) + "-"
                        + name.replaceAll("[^A-Za-z0-9._-]", "_") + f.substring(dot)));
            }
            out.add(c);
        }
        if (out.isEmpty()) {
            throw o.get("models").error("lists no model");
        }
        return out;
    }

    /** The orchestrator's configuration from a cluster file's nodes, links, policy and 'orchestrator' section, for one model. */
    static OrchestratorConfig config(ClusterFile file, String modelOverride) {
        ConfigNode o = file.orchestrator();
        if (o != null) {
            o.only(KEYS);
        }
        String model = modelOverride != null ? modelOverride : o != null && o.has("model") ? o.get("model").text() : null;
        if (model == null) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "no model: set orchestrator.model (or orchestrator.models) "
                    + "in the config, or --model");
        }
        Map<String, OrchestratorConfig.NodeInfo> nodes = new HashMap<>();
        for (ClusterFile.NodeSpec n : file.nodes()) {
            nodes.put(n.id().value(), new OrchestratorConfig.NodeInfo(n.power(), n.costPerHour(), n.memoryBytes()));
        }
        if (!file.source().equals(NodeId.of("gateway"))) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "source must be 'gateway' (the orchestrator's gateway)");
        }
        OrchestratorConfig d = OrchestratorConfig.defaults(model, file.policy());
        Duration heartbeat = ms(o, "heartbeat-ms", d.heartbeat());
        Duration dead = ms(o, "dead-after-ms", d.deadAfter());
        Duration tick = ms(o, "tick-ms", d.tick());
        double factor = num(o, "switch-factor", d.switchFactor());
        double gain = num(o, "min-relative-gain", d.minRelativeGain());
        int perMinute = (int) num(o, "max-switches-per-minute", d.maxSwitchesPerMinute());
        Migrator.Method method = d.method();
        if (o != null && o.has("method")) {
            method = switch (o.get("method").text()) {
                case "precopy", "pre-copy" -> Migrator.Method.PRECOPY;
                case "stop-and-copy" -> Migrator.Method.STOP_AND_COPY;
                case "replay" -> Migrator.Method.REPLAY;
                default -> throw o.get("method").error("must be precopy, stop-and-copy or replay");
            };
        }
        Path log = o != null && o.has("decision-log") ? Path.of(o.get("decision-log").text()) : null;
        return new OrchestratorConfig(model, file.policy(), "gateway", nodes, file.links(), d.defaultLink(),
                num(o, "message-overhead-ms", d.messageOverheadMs()), heartbeat, dead, tick, factor,
                Duration.ofMillis((long) (num(o, "horizon-s", d.horizon().toSeconds()) * 1000)), gain, perMinute, method,
                (int) num(o, "profile-tokens", d.profileTokens()), log, d.loadBytesPerS(), d.warmupMs(),
                (int) num(o, "min-workers", d.minWorkers()), ms(o, "step-timeout-ms", d.stepTimeout()), file.privacyClasses());
    }

    /**
     * The API keys of {@code orchestrator.api-keys}: a list of {@code {name, key}} or
     * {@code {name, key-env}} (the key read from that environment variable), each optionally with
     * the {@code privacy-class} every request made with it runs in; by key.
     */
    static Map<String, HttpApi.ApiKey> apiKeys(ClusterFile file) {
        ConfigNode o = file.orchestrator();
        if (o == null || !o.has("api-keys")) {
            return Map.of();
        }
        Map<String, HttpApi.ApiKey> keys = new HashMap<>();
        for (ConfigNode k : o.get("api-keys").list()) {
            k.only(Set.of("name", "key", "key-env", "privacy-class"));
            String name = k.get("name").text();
            String key;
            if (k.has("key") == k.has("key-env")) {
                throw k.error("give one of 'key' and 'key-env'");
            }
            if (k.has("key")) {
                key = k.get("key").text();
            } else {
                key = System.getenv(k.get("key-env").text());
                if (key == null || key.isEmpty()) {
                    throw k.get("key-env").error("the environment variable " + k.get("key-env").text() + " is not set");
                }
            }
            String cls = null;
            if (k.has("privacy-class")) {
                cls = k.get("privacy-class").text();
                if (!file.privacyClasses().containsKey(cls)) {
                    throw k.get("privacy-class").error("unknown privacy class '" + cls + "' (classes: "
                            + file.privacyClasses().keySet() + ")");
                }
            }
            if (keys.put(key, new HttpApi.ApiKey(name, cls)) != null) {
                throw k.error("two API keys are the same"); // the key itself is not shown
            }
        }
        return keys;
    }

    private static double num(ConfigNode o, String key, double fallback) {
        return o != null && o.has(key) ? o.get(key).nonNegative() : fallback;
    }

    private static Duration ms(ConfigNode o, String key, Duration fallback) {
        return o != null && o.has(key) ? Duration.ofMillis((long) o.get(key).positive()) : fallback;
    }
}
