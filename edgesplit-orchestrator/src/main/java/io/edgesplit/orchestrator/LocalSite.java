package io.edgesplit.orchestrator;

import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.baseline.Baselines;
import io.edgesplit.orchestrator.http.HttpApi;
import io.edgesplit.worker.WorkerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A site on this machine for benchmarks: an orchestrator for one model with its HTTP API, and one
 * worker process per node at its EMULATED speed, with the configured links EMULATED in the
 * senders; run under a placement policy. {@code adaptive} is EdgeSplit as it runs; {@code static}
 * keeps its first plan (a dead node is still replaced); a baseline planner's name
 * ({@link Baselines}) places the model as that peer system would and keeps it there.
 */
public final class LocalSite implements AutoCloseable {
    public static final String ADAPTIVE = "adaptive";
    public static final String STATIC = "static";

    private final Orchestrator orchestrator;
    private final HttpApi api;
    private final List<WorkerProcess> workers;
    private final List<Link> links;
    private volatile Thread follower;
    /** The traced link's EMULATED rate now, bytes/s (NaN when no trace is followed). */
    private volatile double traced = Double.NaN;

    private LocalSite(Orchestrator orchestrator, HttpApi api, List<WorkerProcess> workers, List<Link> links) {
        this.orchestrator = orchestrator;
        this.api = api;
        this.workers = workers;
        this.links = links;
    }

    /** The policies a site can run under: adaptive, static, and every baseline planner. */
    public static List<String> policies() {
        List<String> out = new ArrayList<>(List.of(ADAPTIVE, STATIC));
        Baselines.all().forEach(p -> out.add(p.name()));
        return out;
    }

    public static LocalSite start(String model, int profileTokens, List<AdaptationScenario.Node> nodes, List<Link> links,
            String policy, Consumer<String> progress) {
        if (!policies().contains(policy)) {
            throw EdgeSplitException.invalidArgument("unknown policy '" + policy + "' (" + String.join(", ", policies()) + ")");
        }
        Map<String, OrchestratorConfig.NodeInfo> infos = new HashMap<>();
        nodes.forEach(n -> infos.put(n.name(), n.info()));
        OrchestratorConfig config = OrchestratorConfig.defaults(model, Policy.of(Objective.LATENCY)).withNodes(infos)
                .withLinks(links).withMinWorkers(nodes.size()).withProfileTokens(profileTokens)
                .withTiming(Duration.ofMillis(100), Duration.ofSeconds(3), Duration.ofMillis(200))
                .withSwitching(2.0, 0.1, policy.equals(ADAPTIVE) ? 6 : 0);
        Orchestrator o = Orchestrator.start(config, "127.0.0.1", 0, 0);
        List<WorkerProcess> started = new ArrayList<>();
        HttpApi api = null;
        try {
            api = HttpApi.start(o, new HttpApi.Options(0, 64, Duration.ofMinutes(5)));
            for (AdaptationScenario.Node n : nodes) {
                started.add(WorkerProcess.start(n.name(), n.zone(), 1, Math.min(1.0, n.speed()), "127.0.0.1:" + o.controlPort(), 0));
            }
            progress.accept(policy + ": " + nodes.size() + " workers joining, profiling " + model);
            o.awaitTraffic(Duration.ofMinutes(10));
            AdaptationScenario.emulateLinks(o, config.source(), nodes, links);
            if (!policy.equals(ADAPTIVE) && !policy.equals(STATIC)) {
                PlanResult r = Baselines.named(policy).plan(o.model().profile(), o.snapshot(), o.policy());
                if (!(r instanceof PlanResult.Plan p)) {
                    throw new EdgeSplitException(ErrorCode.NO_PLACEMENT, policy + " finds no plan: "
                            + ((PlanResult.Infeasible) r).reason());
                }
                o.force(p.stages(), "the " + policy + " baseline's plan");
            }
            progress.accept(policy + ": serving on " + o.currentPlan());
            return new LocalSite(o, api, started, links);
        } catch (RuntimeException e) {
            if (api != null) {
                api.close();
            }
            started.forEach(WorkerProcess::close);
            o.close();
            throw e;
        }
    }

    /** The link of the plan serving now that carries the most bytes per request of {@code tokens}, as {from, to}. */
    public String[] busiestLink(int tokens) {
        return AdaptationScenario.busiestLink(orchestrator.model(), tokens, orchestrator.currentStages(), "gateway");
    }

    /**
     * From now until {@link #stopTrace}, the link a-b (both directions, EMULATED) follows
     * {@code trace} from {@code startS} at {@code speedup} trace seconds per second, scaled so that
     * it starts at the link's configured rate.
     */
    public void followTrace(BandwidthTrace trace, double startS, double speedup, String a, String b) {
        Link l = links.stream().filter(x -> (x.from().value().equals(a) && x.to().value().equals(b))
                || (x.from().value().equals(b) && x.to().value().equals(a))).findFirst()
                .orElseThrow(() -> EdgeSplitException.invalidArgument("no configured link " + a + "-" + b));
        double scale = l.bandwidthBytesPerS() / (trace.mbpsAt(startS) * 1e6 / 8);
        long t0 = System.nanoTime();
        stopTrace();
        follower = Thread.ofPlatform().daemon(true).name("bandwidth-trace").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                double t = startS + (System.nanoTime() - t0) / 1e9 * speedup;
                double bw = trace.mbpsAt(t) * 1e6 / 8 * scale;
                traced = bw;
                AdaptationScenario.emulate(orchestrator, "gateway", a, b, bw, l.latencyMs());
                AdaptationScenario.emulate(orchestrator, "gateway", b, a, bw, l.latencyMs());
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** The traced link back at its configured rate. */
    public void stopTrace() {
        Thread f = follower;
        if (f != null) {
            f.interrupt();
            try {
                f.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            follower = null;
        }
        traced = Double.NaN;
    }

    /** The rate (bytes/s) the traced link is EMULATED at now, or NaN when no trace is followed. */
    public double tracedBandwidth() {
        return traced;
    }

    public String url() {
        return "http://127.0.0.1:" + api.port();
    }

    public Orchestrator orchestrator() {
        return orchestrator;
    }

    @Override
    public void close() {
        stopTrace();
        api.close();
        workers.forEach(WorkerProcess::close);
        orchestrator.close();
    }
}
