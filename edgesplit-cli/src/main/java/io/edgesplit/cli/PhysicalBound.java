package io.edgesplit.cli;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.CostModel;
import io.edgesplit.core.plan.ExactPlanner;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.PlanResult;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Prediction;
import io.edgesplit.core.plan.Stage;
import io.edgesplit.orchestrator.LocalSite;
import io.edgesplit.orchestrator.Orchestrator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The physical bound of a run on a {@link LocalSite}: every half second, from the block times the
 * workers measured and the links as the orchestrator measures them (no queueing, no overhead), the
 * best latency and throughput any feasible plan could have, and what the plan serving then could
 * have; with the traced link's EMULATED rate and its estimate. Its summary sets the medians beside
 * the measured figures as efficiency ratios (bound / measured for latency, measured / bound for
 * throughput: 1 is the bound, lower is further from it).
 */
final class PhysicalBound implements AutoCloseable {
    private final LocalSite site;
    private final String[] traced;
    private final long startNanos = System.nanoTime();
    private final long startWallMs = System.currentTimeMillis();
    private final List<double[]> samples = new ArrayList<>(); // {t s, best ms, served ms, best rps, served rps, emulated B/s, estimate B/s}
    private final Thread sampler;
    private volatile List<String> bestPlan = List.of();

    /** Starts sampling {@code site}; {@code traced} is the link that follows a bandwidth trace, or null. */
    PhysicalBound(LocalSite site, String[] traced) {
        this.site = site;
        this.traced = traced;
        sample();
        this.sampler = Thread.ofPlatform().daemon(true).name("physical-bound").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
                sample();
            }
        });
    }

    private void sample() {
        Orchestrator o = site.orchestrator();
        ClusterSnapshot snap;
        List<Stage> served;
        try {
            snap = o.snapshot();
            served = o.currentStages();
        } catch (RuntimeException e) {
            return; // the site is closing
        }
        ModelProfile profile = o.model().profile();
        Policy policy = o.policy().withPrivacy(null).withSlo(0).withMinThroughput(0);
        PlanResult fastest = new ExactPlanner().plan(profile, snap, policy.withObjective(Objective.LATENCY));
        PlanResult widest = new ExactPlanner().plan(profile, snap, policy.withObjective(Objective.THROUGHPUT));
        if (!(fastest instanceof PlanResult.Plan f) || !(widest instanceof PlanResult.Plan w)) {
            return;
        }
        bestPlan = f.stages().stream().map(st -> st.node().value() + ":" + st.firstBlock() + "-" + st.lastBlock()).toList();
        boolean servedKnown = served != null && !served.isEmpty()
                && served.stream().allMatch(st -> snap.nodes().stream().anyMatch(n -> n.id().equals(st.node())));
        Prediction now = servedKnown ? CostModel.predict(profile, snap, policy, served) : null;
        double emulated = site.tracedBandwidth();
        double estimate = Double.NaN;
        if (traced != null) {
            Link l = snap.link(new NodeId(traced[0]), new NodeId(traced[1]));
            estimate = l == null ? Double.NaN : l.bandwidthBytesPerS();
        }
        synchronized (samples) {
            samples.add(new double[] {(System.nanoTime() - startNanos) / 1e9, f.predicted().latencyMs(),
                    now == null ? Double.NaN : now.latencyMs(), w.predicted().throughputRps(),
                    now == null ? Double.NaN : now.throughputRps(), emulated, estimate});
        }
    }

    /** Seconds since sampling began of a wall-clock time (a decision log's {@code time_ms}). */
    double offsetS(long wallMs) {
        return (wallMs - startWallMs) / 1000.0;
    }

    @Override
    public void close() {
        sampler.interrupt();
        try {
            sampler.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(r -> r[column]).filter(x -> !Double.isNaN(x)).sorted().toArray();
        return v.length == 0 ? Double.NaN : v[v.length / 2];
    }

    private static Object finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /**
     * The bound beside the run's measured summary: for encoders per request, for decoders per output
     * token (the profile is one decode step); multi-stream's query of n samples is one pipelined
     * batch (latency + (n - 1) / throughput).
     */
    Map<String, Object> summary(Map<String, Object> measured, boolean generative, int samplesPerQuery) {
        List<double[]> rows;
        synchronized (samples) {
            rows = List.copyOf(samples);
        }
        double bestMs = median(rows, 1);
        double servedMs = median(rows, 2);
        double bestRps = median(rows, 3);
        double servedRps = median(rows, 4);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("what", "from the measured block times and link estimates, no queueing and no overhead; medians over the run "
                + "(sampled every 0.5 s); " + (generative ? "per output token (a decode step)" : "per request"));
        out.put("best_plan", bestPlan);
        out.put("best_latency_ms", finite(bestMs));
        out.put("served_plan_latency_ms", finite(servedMs));
        out.put("best_throughput_rps", finite(bestRps));
        out.put("served_plan_throughput_rps", finite(servedRps));
        String scenario = String.valueOf(measured.get("scenario"));
        Map<?, ?> latency = (Map<?, ?>) measured.get(generative ? "time_per_output_token_ns" : "latency_ns");
        double p50Ms = latency == null ? Double.NaN : ((Number) latency.get("p50")).doubleValue() / 1e6;
        double boundMs = bestMs;
        if (scenario.equals("multi-stream") && !generative) {
            boundMs = bestMs + (samplesPerQuery - 1) * 1000.0 / bestRps;
            Object q = measured.get("result");
            p50Ms = q instanceof Number n ? n.doubleValue() / 1e6 : p50Ms; // its metric is the query's latency
            out.put("query_bound_ms", finite(boundMs));
        }
        if (!scenario.equals("offline") && p50Ms > 0) {
            out.put("measured_latency_ms", p50Ms);
            out.put("latency_efficiency", finite(boundMs / p50Ms));
        }
        if (scenario.equals("offline") && measured.get("result") instanceof Number sps && !generative) {
            out.put("measured_throughput_rps", sps.doubleValue());
            out.put("throughput_efficiency", finite(sps.doubleValue() / bestRps));
        }
        Map<String, Object> series = new LinkedHashMap<>();
        series.put("t_s", rows.stream().mapToDouble(r -> r[0]).toArray());
        series.put("best_latency_ms", column(rows, 1));
        series.put("served_plan_latency_ms", column(rows, 2));
        if (traced != null) {
            series.put("traced_link", traced[0] + "<->" + traced[1]);
            series.put("emulated_bytes_per_s", column(rows, 5));
            series.put("estimated_bytes_per_s", column(rows, 6));
        }
        out.put("timeline", series);
        return out;
    }

    /** A column with NaN as -1 (JSON has no NaN). */
    private static double[] column(List<double[]> rows, int c) {
        return rows.stream().mapToDouble(r -> Double.isFinite(r[c]) ? r[c] : -1).toArray();
    }
}
