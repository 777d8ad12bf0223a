package io.edgesplit.orchestrator;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Prediction;
import io.edgesplit.core.plan.PrivacyClass;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.wire.v1.ControlGrpc;
import io.edgesplit.wire.v1.HeartbeatReply;
import io.edgesplit.wire.v1.HeartbeatRequest;
import io.edgesplit.wire.v1.JoinReply;
import io.edgesplit.wire.v1.JoinRequest;
import io.edgesplit.wire.v1.ProfileRequest;
import io.edgesplit.wire.v1.Telemetry;
import io.edgesplit.worker.Gateway;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The control plane. Workers join it and report every heartbeat; each is profiled on joining (its
 * blocks timed where it runs: what it declares is logged, not trusted). A single controller thread
 * reconciles the plan on every event (a join, a death, a failed step) and on a timer: it plans over
 * the ready workers and the links as measured, and switches only when the predicted gain over the
 * horizon exceeds the move cost by the configured factor, no more often than the configured rate;
 * a plan that uses a dead worker is replaced at once and its sequences replayed. Every decision
 * goes to the {@link DecisionLog}. The orchestrator embeds the gateway the requests go through.
 */
public final class Orchestrator implements AutoCloseable {

    enum State { PROFILING, READY, DEAD }

    /** A worker as the orchestrator knows it. */
    static final class Member {
        final String name;
        final String address;
        final String zone;
        final long memoryBytes;
        final double declaredSpeed;
        final long incarnation;
        volatile State state = State.PROFILING;
        volatile long lastSeenMs;
        volatile Telemetry telemetry;
        volatile double[] blockMs;
        volatile double busy;
        private double lastBlockMs = -1;
        private long lastAtMs;

        Member(JoinRequest j, long incarnation, long now) {
            this.name = j.getName();
            this.address = j.getAddress();
            this.zone = j.getZone().isEmpty() ? "default" : j.getZone();
            this.memoryBytes = j.getMemoryBytes();
            this.declaredSpeed = j.getDeclaredSpeed();
            this.incarnation = incarnation;
            this.lastSeenMs = now;
        }

        /** Node load: the fraction of wall time its stage thread computed, smoothed. */
        synchronized void load(Telemetry t, long now) {
            if (lastBlockMs >= 0 && now > lastAtMs) {
                double fraction = Math.min(1, Math.max(0, (t.getBlockMsTotal() - lastBlockMs) / (now - lastAtMs)));
                busy = 0.7 * busy + 0.3 * fraction;
            }
            lastBlockMs = t.getBlockMsTotal();
            lastAtMs = now;
        }
    }

    private final OrchestratorConfig config;
    private final AnalyzedModel am;
    private final Gateway gateway;
    private final Server control;
    private final Map<String, Member> members = new ConcurrentHashMap<>();
    private final AtomicLong incarnations = new AtomicLong(System.currentTimeMillis());
    private final LinkMonitor monitor;
    private final DecisionLog log;
    private final Migrator migrator;
    private final ScheduledExecutorService controller = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("controller").daemon(true).unstarted(r));
    private final ExactPlanner planner = new ExactPlanner();
    private volatile Policy policy;
    /** Nodes an operator is draining: planned around, and moved off without waiting for a gain. */
    private final java.util.Set<String> drained = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Traffic> started = new CompletableFuture<>();
    // owned by the controller thread
    private volatile Traffic traffic;
    private List<Stage> plan;
    private List<Stage> firstPlan;
    private Map<String, Long> planIncarnations = Map.of();
    private ClusterSnapshot planSnapshot;
    private final ArrayDeque<Long> switches = new ArrayDeque<>();
    private String lastConsidered = "";
    private long failureAtMs;
    private final RateMeter rate = new RateMeter();
    private final Map<String, ClassRoute> classRoutes = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private Orchestrator(OrchestratorConfig config, AnalyzedModel am, Gateway gateway, int controlPort) {
        this.config = config;
        this.am = am;
        this.gateway = gateway;
        this.policy = served(config.policy());
        this.monitor = new LinkMonitor((a, b) -> config.link(a, b).latencyMs() + config.messageOverheadMs(),
                (a, b) -> config.link(a, b).bandwidthBytesPerS());
        this.log = new DecisionLog(config.decisionLog());
        this.migrator = new Migrator(gateway);
        try {
            this.control = NettyServerBuilder.forAddress(new InetSocketAddress(controlPort)).addService(new ControlService())
                    .build().start();
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "orchestrator cannot listen on port " + controlPort + ": "
                    + e.getMessage(), e);
        }
        long tick = config.tick().toMillis();
        controller.scheduleWithFixedDelay(() -> reconcile("timer"), tick, tick, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts an orchestrator: workers join it at {@code controlPort} (0: any); its gateway takes
     * results at {@code gatewayPort} (0: any), reachable at {@code host}.
     */
    public static Orchestrator start(OrchestratorConfig config, String host, int controlPort, int gatewayPort) {
        AnalyzedModel am = ModelAnalyzer.analyze(new OnnxModelLoader(LoadLimits.defaults()).load(config.model()),
                ModelAnalyzer.Options.defaults());
        am.requireCuts();
        Gateway g = Gateway.start(host, gatewayPort);
        try {
            return new Orchestrator(config, am, g, controlPort);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** A policy as this orchestrator applies it: per request or per token, at most one stage per block. */
    private Policy served(Policy p) {
        boolean generative = !am.state().isEmpty();
        return p.withUnitsPerRequest(generative ? 1 : Math.max(1, config.profileTokens()))
                .withMaxStages(Math.min(p.maxStages(), am.blockCount()));
    }

    /** The policy planning follows now. */
    public Policy policy() {
        return policy;
    }

    /** Plans by {@code p} from now on (an operator changed it) and re-plans at once; the usual switching rules apply. */
    public void policy(Policy p, String why) {
        onController(() -> {
            Policy before = policy;
            policy = served(p);
            log.add("policy", fields("trigger", why, "objective", policy.objective().name().toLowerCase(Locale.ROOT),
                    "previous_objective", before.objective().name().toLowerCase(Locale.ROOT), "latency_slo_ms",
                    policy.latencySloMs() > 0 ? policy.latencySloMs() : null, "min_throughput_rps",
                    policy.minThroughputRps() > 0 ? policy.minThroughputRps() : null));
            lastConsidered = "";
            reconcile("the policy changed: " + why);
            return null;
        });
    }

    /**
     * Drains a node (an operator's request): the planner stops using it and the plan moves off it
     * now (live, with the KV caches), whatever the gain; {@code drain == false} gives it back to the
     * planner. False if no such worker joined.
     */
    public boolean drain(String node, boolean drain, String why) {
        if (!members.containsKey(node)) {
            return false;
        }
        onController(() -> {
            boolean changed = drain ? drained.add(node) : drained.remove(node);
            if (changed) {
                log.add(drain ? "node-draining" : "node-undrained", fields("node", node, "trigger", why));
                lastConsidered = "";
                reconcile((drain ? "node " + node + " is being drained" : "node " + node + " is no longer drained")
                        + " (" + why + ")");
            }
            return null;
        });
        return true;
    }

    /** Nodes being drained. */
    public java.util.Set<String> drainedNodes() {
        return java.util.Set.copyOf(drained);
    }

    public int controlPort() {
        return control.getPort();
    }

    public Gateway gateway() {
        return gateway;
    }

    public AnalyzedModel model() {
        return am;
    }

    public DecisionLog decisions() {
        return log;
    }

    public LinkMonitor monitor() {
        return monitor;
    }

    /** Told each phase of every migration as it starts (see {@link Migrator#phases}). */
    public void migrationPhases(java.util.function.Consumer<String> listener) {
        migrator.phases(listener);
    }

    /** The model it serves, as configured (e.g. builtin:stories260k). */
    public OrchestratorConfig config() {
        return config;
    }

    public String modelName() {
        return config.model();
    }

    /** The served model's context length in tokens ({@link Integer#MAX_VALUE} if it states none). */
    public int context() {
        return model().model().contextLength();
    }

    /** The epoch of the route serving now (0 before the first plan). Thread-safe. */
    public long epoch() {
        Traffic t = traffic;
        return t == null ? 0 : t.route().epoch();
    }

    /** The traffic once the first plan serves; waits up to {@code timeout}. */
    public Traffic awaitTraffic(Duration timeout) {
        try {
            return started.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "no plan within " + timeout.toSeconds() + " s: "
                    + members.size() + " worker(s) joined, " + config.minWorkers() + " needed");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "the orchestrator stopped: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted", e);
        }
    }

    /** The sequences' driver, for generative models. */
    public Decoding decoding(Duration timeout) {
        if (!(awaitTraffic(timeout) instanceof Decoding d)) {
            throw EdgeSplitException.invalidArgument(config.model() + " is not a generative model");
        }
        return d;
    }

    /** The requests' driver, for encoders. */
    public Encoding encoding(Duration timeout) {
        if (!(awaitTraffic(timeout) instanceof Encoding e)) {
            throw EdgeSplitException.invalidArgument(config.model() + " is a generative model");
        }
        return e;
    }

    /** Runs a reconciliation now (an operator asked for one) and waits for it. */
    public void replan(String why) {
        onController(() -> {
            reconcile(why);
            return null;
        });
    }

    /** The stages of the plan serving now (null before the first), as "node:first-last". */
    public List<String> currentPlan() {
        return onController(() -> plan == null ? null : describe(plan));
    }

    /** The address of a joined worker, or null. */
    public String address(String node) {
        Member m = members.get(node);
        return m == null ? null : m.address;
    }

    /** The plan serving now, as stages (null before the first). */
    public List<Stage> currentStages() {
        return onController(() -> plan);
    }

    /**
     * The plan the planner would choose now if some links had other bandwidths (bytes/s, keyed
     * "from->to"): what an oracle that knows a change in advance would run.
     */
    public List<Stage> bestPlanWith(Map<String, Double> bandwidths) {
        return onController(() -> {
            PlanResult r = planner.plan(am.profile(), snapshotWith(bandwidths), policy);
            if (!(r instanceof PlanResult.Plan p)) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "no plan: " + ((PlanResult.Infeasible) r).reason());
            }
            return p.stages();
        });
    }

    /**
     * What the cost model predicts for {@code stages} over the ready workers as measured, with some
     * links' bandwidths (bytes/s, keyed "from->to") set instead; null when a node of them is not ready.
     */
    public Prediction predict(List<Stage> stages, Map<String, Double> bandwidths) {
        return onController(() -> {
            ClusterSnapshot s = snapshotWith(bandwidths);
            for (Stage st : stages) {
                if (s.nodes().stream().noneMatch(n -> n.id().equals(st.node()))) {
                    return null;
                }
            }
            return CostModel.predict(am.profile(), s, policy, stages);
        });
    }

    private ClusterSnapshot snapshotWith(Map<String, Double> bandwidths) {
        ClusterSnapshot base = snapshot(profiled());
        List<Link> links = new ArrayList<>();
        for (Link l : base.links()) {
            Double bw = bandwidths.get(l.from() + "->" + l.to());
            links.add(bw == null ? l : new Link(l.from(), l.to(), bw, l.latencyMs()));
        }
        return new ClusterSnapshot(base.nodes(), links, base.source());
    }

    /** The cluster as the controller sees it now: the ready, profiled workers and the links as measured. */
    public ClusterSnapshot snapshot() {
        return onController(() -> snapshot(profiled()));
    }

    /** The workers ready and profiled: what a plan may use. */
    private List<Member> profiled() {
        return members.values().stream().filter(m -> m.state == State.READY && m.blockMs != null).toList();
    }

    /** The first plan this orchestrator served (null before it), as stages. */
    public List<Stage> firstStages() {
        return onController(() -> firstPlan);
    }

    /** Switches to {@code stages} now, whatever the rules say (an operator's or an oracle's choice). */
    public Migrator.Report force(List<Stage> stages, String why) {
        return onController(() -> {
            if (plan != null && same(stages, plan)) {
                return null;
            }
            Decoding.Route route = routeFor(stages, traffic.route().epoch() + 1);
            List<String> previous = describe(plan);
            Migrator.Report report = migrator.switchTo(traffic, route, config.method());
            take(stages, snapshot(profiled()));
            log.add("switch", fields("trigger", why, "cause", "forced", "epoch", route.epoch(), "chosen_plan", describe(stages),
                    "current_plan", previous, "baseline_plan", describe(firstPlan), "migration", report(report)));
            return report;
        });
    }

    private <T> T onController(java.util.concurrent.Callable<T> task) {
        try {
            return controller.submit(task).get(10, TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof EdgeSplitException es ? es
                    : new EdgeSplitException(ErrorCode.RUNTIME_FAILED, e.getCause().getMessage(), e.getCause());
        } catch (Exception e) {
            throw new EdgeSplitException(ErrorCode.INTERNAL, "the controller did not answer: " + e.getMessage(), e);
        }
    }

    /** The newest report of every worker not dead, by name. */
    public Map<String, Telemetry> workerTelemetry() {
        Map<String, Telemetry> out = new java.util.TreeMap<>();
        members.values().stream().filter(m -> m.state != State.DEAD && m.telemetry != null).forEach(m -> out.put(m.name, m.telemetry));
        return out;
    }

    /** Names of the workers the orchestrator counts as ready. */
    public List<String> readyWorkers() {
        return members.values().stream().filter(m -> m.state == State.READY).map(m -> m.name).sorted().toList();
    }

    private final class ControlService extends ControlGrpc.ControlImplBase {
        @Override
        public void join(JoinRequest req, StreamObserver<JoinReply> reply) {
            long now = System.currentTimeMillis();
            if (req.getName().isBlank() || req.getAddress().isBlank()) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription("a join needs a name and an address").asRuntimeException());
                return;
            }
            Member joined;
            Member old;
            synchronized (members) {
                old = members.get(req.getName());
                if (old != null && old.state != State.DEAD && !old.address.equals(req.getAddress())
                        && now - old.lastSeenMs < config.deadAfter().toMillis()) {
                    reply.onError(Status.ALREADY_EXISTS.withDescription("node name '" + req.getName()
                            + "' is held by a live worker at " + old.address).asRuntimeException());
                    log.add("join-refused", fields("node", req.getName(), "address", req.getAddress(),
                            "reason", "name held by a live worker at " + old.address));
                    return;
                }
                joined = new Member(req, incarnations.incrementAndGet(), now);
                members.put(req.getName(), joined);
            }
            monitor.forget(req.getName());
            reply.onNext(JoinReply.newBuilder().setIncarnation(joined.incarnation)
                    .setHeartbeatMs(config.heartbeat().toMillis()).build());
            reply.onCompleted();
            log.add("node-joined", fields("node", joined.name, "address", joined.address, "zone", joined.zone,
                    "incarnation", joined.incarnation, "declared_speed", joined.declaredSpeed,
                    "replaces_incarnation", old == null ? null : old.incarnation));
            if (old != null && old.state != State.DEAD) {
                controller.execute(() -> markDead(old, "it joined again as a new incarnation (its state is gone)"));
            }
            Thread.ofVirtual().name("profile-" + joined.name).start(() -> profile(joined));
        }

        @Override
        public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatReply> reply) {
            Member m = members.get(req.getName());
            long now = System.currentTimeMillis();
            boolean known = m != null && m.incarnation == req.getIncarnation() && m.state != State.DEAD;
            if (known) {
                m.lastSeenMs = now;
                m.telemetry = req.getTelemetry();
                m.load(req.getTelemetry(), now);
                monitor.update(m.name, req.getTelemetry(), now);
            }
            reply.onNext(HeartbeatReply.newBuilder().setRejoin(!known).build());
            reply.onCompleted();
        }
    }

    /** Workers share this machine's cores: profiling two at once would measure each slower than it is. */
    private static final java.util.concurrent.Semaphore PROFILING = new java.util.concurrent.Semaphore(1);

    /** Times the model's blocks on the worker: the planner uses what is measured, not what is declared. */
    private void profile(Member m) {
        try {
            PROFILING.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            var reply = gateway.peers().workerBlocking(m.address).withDeadlineAfter(10, TimeUnit.MINUTES)
                    .profile(ProfileRequest.newBuilder().setModel(config.model()).setTokens(profileTokens()).setRepeats(5).build());
            double[] ms = reply.getBlockMsList().stream().mapToDouble(Double::doubleValue).toArray();
            if (ms.length != am.blockCount()) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "worker " + m.name + " profiled " + ms.length
                        + " blocks; the model has " + am.blockCount());
            }
            m.blockMs = ms;
            m.state = State.READY;
            double total = java.util.Arrays.stream(ms).sum();
            log.add("node-profiled", fields("node", m.name, "declared_speed", m.declaredSpeed, "measured_ms", total,
                    "profile_ms", reply.getProfileMs(), "tokens", profileTokens()));
            controller.execute(() -> reconcile("node " + m.name + " joined and was profiled"));
        } catch (RuntimeException e) {
            m.state = State.DEAD;
            log.add("node-profile-failed", fields("node", m.name, "error", String.valueOf(e.getMessage())));
        } finally {
            PROFILING.release();
        }
    }

    private int profileTokens() {
        return am.state().isEmpty() ? Math.max(1, config.profileTokens()) : 1;
    }

    private void markDead(Member m, String reason) {
        if (m.state == State.DEAD && !members.containsValue(m)) {
            return;
        }
        boolean wasDead = m.state == State.DEAD;
        m.state = State.DEAD;
        if (!wasDead) {
            log.add("node-dead", fields("node", m.name, "incarnation", m.incarnation, "reason", reason));
        }
        if (plan != null && Long.valueOf(m.incarnation).equals(planIncarnations.get(m.name)) && failureAtMs == 0) {
            failureAtMs = System.currentTimeMillis();
        }
        for (ClassRoute r : classRoutes.values()) {
            if (Long.valueOf(m.incarnation).equals(r.incarnations.get(m.name)) && r.failureAtMs == 0) {
                r.failureAtMs = System.currentTimeMillis();
            }
        }
    }

    /** A step failed: find out whether its node is gone; replan or replay as needed. */
    private void onStepFailed(String sequence, String node, String error) {
        long at = System.currentTimeMillis();
        controller.execute(() -> {
            Member m = members.get(node);
            if (m != null && m.state != State.DEAD && !alive(m)) {
                if (failureAtMs == 0 && planIncarnations.containsKey(node)) {
                    failureAtMs = at;
                }
                markDead(m, "a step failed there (" + error + ") and it does not answer");
            }
            reconcile("a step of " + sequence + " failed at " + (node.isEmpty() ? "an unknown node" : node));
            replayIfHealthy(traffic, isBroken(), null, error);
            classRoutes.values().forEach(r -> replayIfHealthy(r.traffic, r.broken(), r.cls.name(), error));
        });
    }

    /** A failed step on a route whose nodes are all there: its requests go on along it, replaying what was lost. */
    private void replayIfHealthy(Traffic t, boolean broken, String privacyClass, String error) {
        if (t != null && !broken && (!t.failedSequences().isEmpty() || t instanceof Encoding e && e.held() > 0)) {
            Map<String, Object> entry = fields("sequences", new ArrayList<>(t.failedSequences()), "route_epoch",
                    t.route().epoch(), "reason", "a step failed but the route is healthy: " + error);
            if (privacyClass != null) {
                entry.put("privacy_class", privacyClass);
            }
            log.add("replay", entry);
            t.resume(t.route(), false);
        }
    }

    private boolean alive(Member m) {
        try {
            gateway.peers().workerBlocking(m.address).withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                    .getTelemetry(io.edgesplit.wire.v1.TelemetryRequest.getDefaultInstance());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private boolean isBroken() {
        return broken(plan, planIncarnations);
    }

    /** Whether a node of {@code stages} is gone: not ready, or not the incarnation that loaded its range. */
    private boolean broken(List<Stage> stages, Map<String, Long> incarnationsThen) {
        if (stages == null) {
            return false;
        }
        for (Stage s : stages) {
            Member m = members.get(s.node().value());
            if (m == null || m.state != State.READY || m.incarnation != incarnationsThen.get(s.node().value())) {
                return true;
            }
        }
        return false;
    }

    private void reconcile(String trigger) {
        if (closed) {
            return;
        }
        try {
            reconcileOnce(trigger);
        } catch (RuntimeException e) {
            log.add("error", fields("trigger", trigger, "error", String.valueOf(e.getMessage())));
        }
        reconcileClasses(trigger);
    }

    private void reconcileOnce(String trigger) {
        long now = System.currentTimeMillis();
        for (Member m : members.values()) {
            if (m.state != State.DEAD && now - m.lastSeenMs > config.deadAfter().toMillis()) {
                markDead(m, "no heartbeat for " + (now - m.lastSeenMs) + " ms");
            }
        }
        measureRate(now);
        probeIdleLinks(now);
        List<Member> ready = profiled().stream().filter(m -> !drained.contains(m.name)).toList();
        boolean broken = isBroken();
        String drainedOn = plan == null ? null : plan.stream().map(st -> st.node().value()).filter(drained::contains)
                .findFirst().orElse(null);
        if (plan == null && ready.size() < config.minWorkers()) {
            return;
        }
        if (ready.isEmpty()) {
            return;
        }
        ClusterSnapshot snapshot = snapshot(ready);
        PlanResult result = planner.plan(am.profile(), snapshot, policy);
        if (result instanceof PlanResult.Infeasible inf) {
            String key = "no-plan:" + inf.reason();
            if ((plan == null || broken) && !key.equals(lastConsidered)) {
                lastConsidered = key;
                log.add("no-plan", fields("trigger", trigger, "constraint", inf.constraint(), "reason", inf.reason()));
            }
            return;
        }
        PlanResult.Plan best = (PlanResult.Plan) result;
        if (plan == null) {
            adopt(best, snapshot, trigger);
            return;
        }
        if (broken) {
            recover(best, snapshot, trigger);
            return;
        }
        if (same(best.stages(), plan)) {
            return;
        }
        Map<String, Object> considered = consider(policy, plan, planSnapshot, firstPlan, best, snapshot, rate.perSecond, drainedOn,
                switches, now, trigger);
        if (considered.containsKey("not_switched_because")) {
            String key = describe(best.stages()) + String.valueOf(considered.get("not_switched_because")).replaceAll("[0-9.]+", "");
            if (!key.equals(lastConsidered)) {
                lastConsidered = key;
                log.add("kept", considered);
            }
            return;
        }
        lastConsidered = "";
        Decoding.Route route = routeFor(best.stages(), traffic.route().epoch() + 1);
        Migrator.Report report;
        try {
            report = migrator.switchTo(traffic, route, config.method());
        } catch (RuntimeException e) {
            considered.put("error", String.valueOf(e.getMessage()));
            log.add("switch-failed", considered);
            return;
        }
        switches.addLast(now);
        take(best.stages(), snapshot);
        considered.put("epoch", route.epoch());
        considered.put("migration", report(report));
        log.add("switch", considered);
    }

    /**
     * The case for switching from {@code current} (planned over {@code then}) to {@code best}, as the
     * decision log records it; with "not_switched_because" when the rules say no: too small a gain,
     * a gain over the horizon below the move cost times the switch factor, or too many switches in
     * the last minute. A node being drained is left whatever the gain.
     */
    private Map<String, Object> consider(Policy p, List<Stage> current, ClusterSnapshot then, List<Stage> baseline,
            PlanResult.Plan best, ClusterSnapshot snapshot, double requestRate, String drainedOn, ArrayDeque<Long> switches,
            long at, String trigger) {
        // a drained node is out of the snapshot planned over, but the current plan still runs on it
        Prediction now = CostModel.predict(am.profile(), drainedOn == null ? snapshot : snapshot(profiled()), p, current);
        double cur = CostModel.objective(p, now);
        double next = CostModel.objective(p, best.predicted());
        double relative = (cur - next) / cur;
        double moveMs = moveCostMs(current, best.stages());
        double rate = Math.max(requestRate, 1.0);
        boolean timeObjective = p.objective() == Objective.LATENCY || p.objective() == Objective.THROUGHPUT;
        double gainMs = timeObjective ? (cur - next) * rate * config.horizon().toMillis() / 1000.0 : Double.NaN;
        String why = trigger(then, current, snapshot, best.stages());
        Map<String, Object> considered = fields("trigger", why, "cause", trigger, "objective", p.objective().name()
                .toLowerCase(Locale.ROOT), "predicted_current", cur, "predicted_new", next, "relative_gain", relative,
                "gain_over_horizon_ms", timeObjective ? gainMs : null, "move_cost_ms", moveMs, "requests_per_s", requestRate,
                "chosen_plan", describe(best.stages()), "current_plan", describe(current), "baseline_plan", describe(baseline));
        String rejected = null;
        if (drainedOn != null) {
            considered.put("trigger", "node " + drainedOn + " is being drained");
        } else if (relative < config.minRelativeGain()) {
            rejected = String.format(Locale.ROOT, "gain %.1f%% is below the minimum %.1f%%", relative * 100,
                    config.minRelativeGain() * 100);
        } else if (timeObjective && gainMs < config.switchFactor() * moveMs) {
            rejected = String.format(Locale.ROOT, "gain over the horizon %.1f ms < %.1f x move cost %.1f ms", gainMs,
                    config.switchFactor(), moveMs);
        } else {
            while (!switches.isEmpty() && at - switches.peekFirst() > 60_000) {
                switches.removeFirst();
            }
            if (switches.size() >= config.maxSwitchesPerMinute()) {
                rejected = "already " + switches.size() + " switches in the last minute (at most "
                        + config.maxSwitchesPerMinute() + ")";
            }
        }
        if (rejected != null) {
            considered.put("not_switched_because", rejected);
        }
        return considered;
    }

    /**
     * The first plan. Workers that served an earlier orchestrator report the plan epochs they saw and
     * the ranges they hold: epochs go on above theirs (or every step would be refused as old), and a
     * route they already hold whole is taken over as it is, with its loaded ranges, instead of the
     * planner's (the controller then judges it like any current plan).
     */
    private void adopt(PlanResult.Plan best, ClusterSnapshot snapshot, String trigger) {
        long seen = 0;
        List<Member> ready = members.values().stream().filter(m -> m.state == State.READY).toList();
        for (Member m : ready) {
            if (m.telemetry == null) {
                return; // its first report is on its way: plan with it next time
            }
            seen = Math.max(seen, m.telemetry.getEpochsOrDefault(config.model(), 0));
        }
        List<Stage> reported = reportedRoute(ready);
        if (reported != null) {
            if (!same(reported, best.stages())) {
                Prediction p = CostModel.predict(am.profile(), snapshot, policy, reported);
                best = new PlanResult.Plan("reported by the workers", reported, p);
            }
            trigger = trigger + "; the workers still hold a whole route of epoch " + seen + ": taken over";
        }
        Decoding.Route route = routeFor(best.stages(), seen + 1);
        try {
            loadAll(route, config.model());
        } catch (RuntimeException e) {
            log.add("load-failed", fields("plan", describe(best.stages()), "error", String.valueOf(e.getMessage())));
            return;
        }
        traffic = am.state().isEmpty() ? new Encoding(gateway, config.model(), route, config.stepTimeout())
                : new Decoding(gateway, config.model(), am, route, config.stepTimeout());
        traffic.listener(this::onStepFailed);
        firstPlan = best.stages();
        take(best.stages(), snapshot);
        log.add("initial", fields("trigger", trigger, "epoch", route.epoch(), "chosen_plan", describe(best.stages()),
                "predicted", prediction(best.predicted())));
        started.complete(traffic);
    }

    /** Loads every range of {@code route} under {@code key} on its workers at once; fails if one does not load. */
    private void loadAll(Decoding.Route route, String key) {
        List<CompletableFuture<Gateway.HopSpec>> loads = new ArrayList<>();
        for (Gateway.HopSpec h : route.hops()) {
            loads.add(CompletableFuture.supplyAsync(() -> gateway.load(h.address(), h.zone(), key, h.firstBlock(),
                    h.lastBlock(), route.epoch(), null), r -> Thread.ofVirtual().start(r)));
        }
        try {
            CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new EdgeSplitException(ErrorCode.RUNTIME_FAILED,
                    String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "loading " + key + " took over 10 minutes", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted while loading " + key, e);
        }
    }

    /** A route the ready workers hold whole: one range each, tiling the model, for its newest epoch; or null. */
    private List<Stage> reportedRoute(List<Member> ready) {
        Map<Integer, Member> byFirst = new java.util.HashMap<>();
        Map<Integer, Integer> lastOf = new java.util.HashMap<>();
        for (Member m : ready) {
            List<io.edgesplit.wire.v1.LoadedRange> mine = m.telemetry.getLoadedList().stream()
                    .filter(r -> r.getModel().equals(config.model())).toList();
            if (mine.size() == 1) {
                byFirst.put(mine.getFirst().getFirstBlock(), m);
                lastOf.put(mine.getFirst().getFirstBlock(), mine.getFirst().getLastBlock());
            }
        }
        List<Stage> out = new ArrayList<>();
        int next = 0;
        while (next < am.blockCount()) {
            Member m = byFirst.get(next);
            if (m == null) {
                return null;
            }
            int last = lastOf.get(next);
            out.add(new Stage(NodeId.of(m.name), next, last, 1, 1));
            next = last + 1;
        }
        return out;
    }

    private void recover(PlanResult.Plan best, ClusterSnapshot snapshot, String trigger) {
        long detectedMs = failureAtMs == 0 ? System.currentTimeMillis() : failureAtMs;
        traffic.failInFlight("the route lost a node");
        Decoding.Route route = routeFor(best.stages(), traffic.route().epoch() + 1);
        List<String> previous = describe(plan);
        Migrator.Report report;
        try {
            report = migrator.switchTo(traffic, route, Migrator.Method.REPLAY);
        } catch (RuntimeException e) {
            log.add("recover-failed", fields("trigger", trigger, "plan", describe(best.stages()), "error",
                    String.valueOf(e.getMessage())));
            return;
        }
        take(best.stages(), snapshot);
        failureAtMs = 0;
        log.add("recover", fields("trigger", trigger, "epoch", route.epoch(), "chosen_plan", describe(best.stages()),
                "current_plan", previous, "baseline_plan", describe(firstPlan), "recovery_ms",
                System.currentTimeMillis() - detectedMs, "migration", report(report)));
    }

    private void take(List<Stage> stages, ClusterSnapshot snapshot) {
        plan = stages;
        planSnapshot = snapshot;
        planIncarnations = incarnationsOf(stages);
    }

    /** The incarnation of each node of {@code stages} now. */
    private Map<String, Long> incarnationsOf(List<Stage> stages) {
        Map<String, Long> inc = new LinkedHashMap<>();
        for (Stage s : stages) {
            inc.put(s.node().value(), members.get(s.node().value()).incarnation);
        }
        return inc;
    }

    /**
     * A privacy class's own route. Requests of the class run on it, planned within the zones the
     * class allows, and never on the serving plan, which may move anywhere the policy allows. It is
     * planned and loaded for the first request of its class and then kept right as the serving plan
     * is: moved off a dead or drained node at once, and switched when the same rules find a better
     * plan. Workers hold its ranges under the model's {@linkplain Gateway#classKey class key}, so its
     * epochs and KV caches are its own.
     */
    private final class ClassRoute {
        final PrivacyClass cls;
        final String key;
        final Gateway.Privacy privacy;
        final RateMeter rate = new RateMeter();
        final ArrayDeque<Long> switches = new ArrayDeque<>();
        // owned by the controller thread
        volatile Traffic traffic;
        List<Stage> plan;
        List<Stage> firstPlan;
        ClusterSnapshot planSnapshot;
        Map<String, Long> incarnations = Map.of();
        String lastConsidered = "";
        long failureAtMs;
        /** Why the class has no placement now (the planner's reason), or null. */
        volatile String infeasible;
        /** Why its route could not be loaded, or null. */
        volatile String loadError;

        ClassRoute(PrivacyClass cls) {
            this.cls = cls;
            this.key = Gateway.classKey(config.model(), cls.name());
            this.privacy = new Gateway.Privacy(cls.name(), new java.util.TreeSet<>(cls.allowedZones()).stream().toList());
        }

        boolean broken() {
            return Orchestrator.this.broken(plan, incarnations);
        }

        void take(List<Stage> stages, ClusterSnapshot snapshot) {
            plan = stages;
            planSnapshot = snapshot;
            incarnations = incarnationsOf(stages);
        }
    }

    /** Where requests of a privacy class go, and the privacy their steps carry for the workers to enforce. */
    public record Lane(Traffic traffic, Gateway.Privacy privacy) {}

    /** The privacy classes requests may name. */
    public java.util.Set<String> privacyClasses() {
        return config.privacyClasses().keySet();
    }

    /**
     * The lane for requests of {@code privacyClass} (null or empty: the serving plan's), once the
     * first plan serves. A class's route is planned and loaded for its first request. A class
     * without a placement within its zones now is refused ({@link ErrorCode#NO_PLACEMENT}, with the
     * planner's reason), never run elsewhere: also while its only nodes are being drained (what
     * runs there finishes); an unknown class is an invalid argument.
     */
    public Lane lane(String privacyClass, Duration timeout) {
        Traffic main = awaitTraffic(timeout);
        if (privacyClass == null || privacyClass.isEmpty()) {
            return new Lane(main, Gateway.Privacy.NONE);
        }
        PrivacyClass c = config.privacyClasses().get(privacyClass);
        if (c == null) {
            throw EdgeSplitException.invalidArgument("unknown privacy class '" + privacyClass + "' (classes: "
                    + new java.util.TreeSet<>(config.privacyClasses().keySet()) + ")");
        }
        ClassRoute r = classRoutes.computeIfAbsent(privacyClass, k -> new ClassRoute(c));
        if (r.traffic == null || r.infeasible != null) {
            onController(() -> {
                reconcileClass(r, "a request of privacy class '" + privacyClass + "'");
                return null;
            });
        }
        Traffic t = r.traffic;
        String infeasible = r.infeasible;
        // no placement, and the route it has lost a node or holds one being drained: refused, not run there or elsewhere
        if (infeasible != null && (t == null || onController(() -> r.broken() || r.plan.stream()
                .anyMatch(st -> drained.contains(st.node().value()))))) {
            throw new EdgeSplitException(ErrorCode.NO_PLACEMENT, "privacy class '" + privacyClass + "' (zones "
                    + r.privacy.allowedZones() + ") has no feasible placement now: " + infeasible + "; the request was not run");
        }
        if (t == null) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "the route of privacy class '" + privacyClass
                    + "' could not be loaded: " + r.loadError);
        }
        return new Lane(t, r.privacy);
    }

    /** The plan of each privacy class's own route (those made so far), as "node:first-last"; null before it serves. */
    public Map<String, List<String>> classPlans() {
        return onController(() -> {
            Map<String, List<String>> out = new java.util.TreeMap<>();
            classRoutes.forEach((name, r) -> out.put(name, describe(r.plan)));
            return out;
        });
    }

    /** Keeps every privacy class's route right, as {@link #reconcileOnce} keeps the serving plan. */
    private void reconcileClasses(String trigger) {
        for (ClassRoute r : classRoutes.values()) {
            try {
                reconcileClass(r, trigger);
            } catch (RuntimeException e) {
                log.add("error", fields("privacy_class", r.cls.name(), "trigger", trigger, "error", String.valueOf(e.getMessage())));
            }
        }
    }

    private void reconcileClass(ClassRoute r, String trigger) {
        if (closed) {
            return;
        }
        long now = System.currentTimeMillis();
        String name = r.cls.name();
        List<Member> ready = profiled().stream().filter(m -> !drained.contains(m.name)).toList();
        Policy p = policy.withPrivacy(r.cls);
        ClusterSnapshot snapshot = snapshot(ready);
        PlanResult result = ready.isEmpty() ? new PlanResult.Infeasible("orchestrator", "nodes", "no worker is ready")
                : planner.plan(am.profile(), snapshot, p);
        if (result instanceof PlanResult.Infeasible inf) {
            String key = "no-plan:" + inf.reason();
            if (!key.equals(r.lastConsidered)) {
                r.lastConsidered = key;
                log.add("no-plan", fields("privacy_class", name, "trigger", trigger, "constraint", inf.constraint(), "reason",
                        inf.reason(), "current_plan", describe(r.plan)));
            }
            r.infeasible = inf.reason();
            if (r.traffic != null && r.broken()) { // what its lost node held can go nowhere else
                r.traffic.failHeld(new EdgeSplitException(ErrorCode.NO_PLACEMENT, "privacy class '" + name + "' (zones "
                        + r.privacy.allowedZones() + ") lost its placement while the request ran: " + inf.reason()));
            }
            return;
        }
        r.infeasible = null;
        PlanResult.Plan best = (PlanResult.Plan) result;
        if (r.traffic == null) {
            startClass(r, best, snapshot, trigger);
            return;
        }
        if (r.broken()) {
            long detectedMs = r.failureAtMs == 0 ? now : r.failureAtMs;
            r.traffic.failInFlight("the route of privacy class '" + name + "' lost a node");
            Decoding.Route route = routeFor(best.stages(), r.traffic.route().epoch() + 1);
            List<String> previous = describe(r.plan);
            Migrator.Report report;
            try {
                report = migrator.switchTo(r.traffic, route, Migrator.Method.REPLAY);
            } catch (RuntimeException e) {
                log.add("recover-failed", fields("privacy_class", name, "trigger", trigger, "plan", describe(best.stages()),
                        "error", String.valueOf(e.getMessage())));
                return;
            }
            r.take(best.stages(), snapshot);
            r.failureAtMs = 0;
            log.add("recover", fields("privacy_class", name, "trigger", trigger, "epoch", route.epoch(), "chosen_plan",
                    describe(best.stages()), "current_plan", previous, "baseline_plan", describe(r.firstPlan), "recovery_ms",
                    System.currentTimeMillis() - detectedMs, "migration", report(report)));
            return;
        }
        if (same(best.stages(), r.plan)) {
            return;
        }
        String drainedOn = r.plan.stream().map(st -> st.node().value()).filter(drained::contains).findFirst().orElse(null);
        Map<String, Object> considered = consider(p, r.plan, r.planSnapshot, r.firstPlan, best, snapshot, r.rate.perSecond,
                drainedOn, r.switches, now, trigger);
        considered.put("privacy_class", name);
        if (considered.containsKey("not_switched_because")) {
            String key = describe(best.stages()) + String.valueOf(considered.get("not_switched_because")).replaceAll("[0-9.]+", "");
            if (!key.equals(r.lastConsidered)) {
                r.lastConsidered = key;
                log.add("kept", considered);
            }
            return;
        }
        r.lastConsidered = "";
        Decoding.Route route = routeFor(best.stages(), r.traffic.route().epoch() + 1);
        try {
            considered.put("migration", report(migrator.switchTo(r.traffic, route, config.method())));
        } catch (RuntimeException e) {
            considered.put("error", String.valueOf(e.getMessage()));
            log.add("switch-failed", considered);
            return;
        }
        r.switches.addLast(now);
        r.take(best.stages(), snapshot);
        considered.put("epoch", route.epoch());
        log.add("switch", considered);
    }

    /** Loads a class's first route, its epochs above any its workers saw under its key. */
    private void startClass(ClassRoute r, PlanResult.Plan best, ClusterSnapshot snapshot, String trigger) {
        long seen = 0;
        for (Stage s : best.stages()) {
            Telemetry t = members.get(s.node().value()).telemetry;
            seen = Math.max(seen, t == null ? 0 : t.getEpochsOrDefault(r.key, 0));
        }
        Decoding.Route route = routeFor(best.stages(), seen + 1);
        try {
            loadAll(route, r.key);
        } catch (RuntimeException e) {
            r.loadError = String.valueOf(e.getMessage());
            log.add("load-failed", fields("privacy_class", r.cls.name(), "plan", describe(best.stages()), "error", r.loadError));
            return;
        }
        Traffic t = am.state().isEmpty() ? new Encoding(gateway, r.key, route, config.stepTimeout())
                : new Decoding(gateway, r.key, am, route, config.stepTimeout());
        t.listener(this::onStepFailed);
        r.firstPlan = best.stages();
        r.take(best.stages(), snapshot);
        r.loadError = null;
        r.traffic = t;
        log.add("initial", fields("privacy_class", r.cls.name(), "trigger", trigger, "epoch", route.epoch(), "chosen_plan",
                describe(best.stages()), "predicted", prediction(best.predicted())));
    }

    /** Probe size: large enough for its bandwidth to show ({@link LinkMonitor#MIN_BYTES}). */
    static final int PROBE_BYTES = 64 * 1024;
    private final Map<String, Long> probedTransfers = new java.util.HashMap<>();
    private long lastProbeMs;

    /**
     * Links from one worker to another or to the gateway that carried nothing since the last look
     * get two probes, so that a link the plan stopped using is still known when it recovers.
     */
    private void probeIdleLinks(long now) {
        if (plan == null || now - lastProbeMs < 1000) {
            return;
        }
        lastProbeMs = now;
        List<Member> ready = members.values().stream().filter(m -> m.state == State.READY && m.telemetry != null).toList();
        for (Member from : ready) {
            Map<String, Long> transfers = new java.util.HashMap<>();
            from.telemetry.getLinksList().forEach(l -> transfers.put(l.getPeer(), l.getTransfers()));
            List<String[]> peers = new ArrayList<>();
            peers.add(new String[] {"gateway", gateway.address()});
            ready.stream().filter(m -> m != from).forEach(m -> peers.add(new String[] {m.name, m.address}));
            for (String[] peer : peers) {
                String key = from.name + "->" + peer[0];
                long count = transfers.getOrDefault(peer[0], 0L);
                Long before = probedTransfers.put(key, count);
                if (before != null && before < count - 2) {
                    continue; // it carries traffic (more than our own probes): measured already
                }
                Thread.ofVirtual().name("probe-" + key).start(() -> {
                    for (int i = 0; i < 2; i++) {
                        try {
                            gateway.peers().workerBlocking(from.address).withDeadlineAfter(5, TimeUnit.SECONDS).probe(
                                    io.edgesplit.wire.v1.ProbeRequest.newBuilder().setPeer(peer[0]).setAddress(peer[1])
                                            .setBytes(PROBE_BYTES).build());
                        } catch (RuntimeException e) {
                            return; // a dead peer is found out by its heartbeats
                        }
                    }
                });
            }
        }
    }

    private void measureRate(long now) {
        if (traffic != null) {
            rate.update(traffic.completed(), now);
        }
        classRoutes.values().forEach(r -> {
            if (r.traffic != null) {
                r.rate.update(r.traffic.completed(), now);
            }
        });
    }

    /** Requests (or steps) completed per second, smoothed. */
    private static final class RateMeter {
        private long lastCompleted;
        private long lastAtMs;
        private double perSecond;

        void update(long completed, long now) {
            if (lastAtMs > 0 && now > lastAtMs) {
                perSecond = 0.7 * perSecond + 0.3 * (completed - lastCompleted) * 1000.0 / (now - lastAtMs);
            }
            lastCompleted = completed;
            lastAtMs = now;
        }
    }

    /** Weights to load at the configured rate, KV caches to copy over the slowest link involved, and warm-up. */
    private double moveCostMs(List<Stage> current, List<Stage> next) {
        long weights = 0;
        for (Stage s : next) {
            boolean loaded = current.stream().anyMatch(o -> o.node().equals(s.node()) && o.firstBlock() == s.firstBlock()
                    && o.lastBlock() == s.lastBlock());
            if (!loaded) {
                for (int b = s.firstBlock(); b <= s.lastBlock(); b++) {
                    weights += am.profile().blocks().get(b).weightBytes();
                }
            }
        }
        double kv = 0;
        for (Stage o : current) {
            boolean kept = next.stream().anyMatch(s -> o.node().equals(s.node()) && o.firstBlock() == s.firstBlock()
                    && o.lastBlock() == s.lastBlock());
            Member m = members.get(o.node().value());
            if (!kept && m != null && m.telemetry != null) {
                kv += m.telemetry.getKvBytes();
            }
        }
        double slowest = Double.MAX_VALUE;
        for (Stage s : next) {
            for (Stage o : current) {
                if (!o.node().equals(s.node())) {
                    slowest = Math.min(slowest, bandwidth(o.node().value(), s.node().value()));
                }
            }
        }
        double kvMs = kv == 0 || slowest == Double.MAX_VALUE ? 0 : kv / slowest * 1000;
        return weights / config.loadBytesPerS() * 1000 + kvMs + config.warmupMs();
    }

    private double bandwidth(String a, String b) {
        Double measured = monitor.bandwidth(a, b);
        return measured != null ? measured : config.link(a, b).bandwidthBytesPerS();
    }

    private ClusterSnapshot snapshot(List<Member> ready) {
        List<NodeProfile> nodes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        names.add(config.source());
        for (Member m : ready) {
            OrchestratorConfig.NodeInfo info = config.nodes().get(m.name);
            PowerModel power = info != null && info.power() != null ? info.power() : new PowerModel(5, 15);
            long memory = info != null && info.memoryBytes() > 0 ? info.memoryBytes() : Math.max(1, m.memoryBytes);
            nodes.add(new NodeProfile(NodeId.of(m.name), m.zone, memory, 1, power, info == null ? 0 : info.costPerHour(),
                    Map.of(1, m.blockMs)));
            names.add(m.name);
        }
        List<Link> links = new ArrayList<>();
        for (String a : names) {
            for (String b : names) {
                if (!a.equals(b)) {
                    links.add(new Link(NodeId.of(a), NodeId.of(b), bandwidth(a, b),
                            config.link(a, b).latencyMs() + config.messageOverheadMs()));
                }
            }
        }
        return new ClusterSnapshot(nodes, links, NodeId.of(config.source()));
    }

    /** What changed most since {@code current} was planned over {@code then}: a node, or a link's bandwidth. */
    private String trigger(ClusterSnapshot then, List<Stage> current, ClusterSnapshot now, List<Stage> next) {
        if (then == null) {
            return "first plan";
        }
        for (NodeProfile n : now.nodes()) {
            if (then.nodes().stream().noneMatch(p -> p.id().equals(n.id()))) {
                return "node " + n.id() + " is available";
            }
        }
        // the links the current or the chosen plan sends over come first: a change elsewhere does not explain a switch
        java.util.Set<String> path = new java.util.HashSet<>(pathLinks(current));
        path.addAll(pathLinks(next));
        String best = null;
        for (boolean onPath : new boolean[] {true, false}) {
            double most = onPath ? Math.log(1.2) : 0;
            for (Link l : now.links()) {
                Link before = then.link(l.from(), l.to());
                if (before == null || path.contains(l.from() + "->" + l.to()) != onPath) {
                    continue;
                }
                double change = Math.abs(Math.log(l.bandwidthBytesPerS() / before.bandwidthBytesPerS()));
                if (change > most) {
                    most = change;
                    best = String.format(Locale.ROOT, "link %s->%s bandwidth %.2f -> %.2f MB/s (measured)", l.from(), l.to(),
                            before.bandwidthBytesPerS() / 1e6, l.bandwidthBytesPerS() / 1e6);
                }
            }
            if (best != null) {
                return best;
            }
        }
        return "no measurement changed much";
    }

    /** The links a plan's messages take, "from->to": source to the first stage, stage to stage, last stage back. */
    private List<String> pathLinks(List<Stage> stages) {
        List<String> out = new ArrayList<>();
        String previous = config.source();
        for (Stage st : stages == null ? List.<Stage>of() : stages) {
            if (!st.node().value().equals(previous)) {
                out.add(previous + "->" + st.node().value());
            }
            previous = st.node().value();
        }
        if (!previous.equals(config.source())) {
            out.add(previous + "->" + config.source());
        }
        return out;
    }

    private Decoding.Route routeFor(List<Stage> stages, long epoch) {
        List<Gateway.HopSpec> hops = new ArrayList<>();
        for (Stage s : stages) {
            Member m = members.get(s.node().value());
            hops.add(new Gateway.HopSpec(m.name, m.address, m.zone, s.firstBlock(), s.lastBlock()));
        }
        return new Decoding.Route(epoch, hops);
    }

    static boolean same(List<Stage> a, List<Stage> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            Stage x = a.get(i);
            Stage y = b.get(i);
            if (!x.node().equals(y.node()) || x.firstBlock() != y.firstBlock() || x.lastBlock() != y.lastBlock()) {
                return false;
            }
        }
        return true;
    }

    static List<String> describe(List<Stage> stages) {
        if (stages == null) {
            return null;
        }
        return stages.stream().map(s -> s.node() + ":" + s.firstBlock() + "-" + s.lastBlock()).toList();
    }

    private static Map<String, Object> prediction(Prediction p) {
        return fields("latency_ms", p.latencyMs(), "throughput_rps", p.throughputRps(), "energy_j", p.energyJ(), "cost", p.cost());
    }

    private static Map<String, Object> report(Migrator.Report r) {
        return fields("method", r.method().label(), "from_epoch", r.fromEpoch(), "to_epoch", r.toEpoch(), "sequences",
                r.sequences(), "ranges_loaded", r.loaded(), "ranges_unloaded", r.unloaded(), "kv_transfers", r.transfers(),
                "kv_bytes", r.kvBytes(), "load_ms", r.loadMs(), "precopy_ms", r.precopyMs(), "hold_ms", r.holdMs(),
                "final_copy_ms", r.finalCopyMs(), "stall_ms", r.stallMs(), "total_ms", r.totalMs(), "fallback", r.fallback());
    }

    static Map<String, Object> fields(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    @Override
    public void close() {
        closed = true;
        controller.shutdownNow();
        try {
            controller.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Traffic> all = new ArrayList<>();
        all.add(traffic);
        classRoutes.values().forEach(r -> all.add(r.traffic));
        for (Traffic t : all) {
            if (t instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing anyway
                }
            }
        }
        control.shutdownNow();
        gateway.close();
        log.close();
        started.completeExceptionally(new EdgeSplitException(ErrorCode.IO_FAILED, "orchestrator closed"));
    }

    @Override
    public String toString() {
        return "Orchestrator[" + config.model() + ", " + members.size() + " members]";
    }
}
