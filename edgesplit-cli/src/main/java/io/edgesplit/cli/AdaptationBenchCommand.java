package io.edgesplit.cli;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.orchestrator.AdaptationScenario;
import io.edgesplit.orchestrator.AdaptationScenario.Point;
import io.edgesplit.orchestrator.AdaptationScenario.Result;
import io.edgesplit.orchestrator.AdaptationScenario.Way;
import io.edgesplit.orchestrator.BandwidthTrace;
import io.edgesplit.orchestrator.OrchestratorConfig;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench adaptation}: the adaptation scenario run three ways in one run
 * (adaptive, static, oracle) on fresh worker processes each, with reaction time, p95 latency per
 * phase, the ratios the orchestrator issue asks for, whether every way gave the same outputs, and a
 * timeline (CSV and PNG).
 */
@Command(name = "adaptation", description = "Adaptive vs static vs oracle when a link's bandwidth drops (worker processes, EMULATED links and speeds).")
final class AdaptationBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--cluster", paramLabel = "FILE", description = "cluster YAML (its 'measure' nodes become workers). Default: ${DEFAULT-VALUE}")
    Path cluster = Path.of("examples/cluster-emulated.yaml");

    @Option(names = "--model", paramLabel = "MODEL", description = "an encoder. Default: ${DEFAULT-VALUE}")
    String model = "builtin:minilm";

    @Option(names = "--tokens", paramLabel = "N", description = "tokens per request. Default: ${DEFAULT-VALUE}")
    int tokens = 128;

    @Option(names = "--drop", paramLabel = "X", description = "the busiest link's bandwidth is divided by X. Default: ${DEFAULT-VALUE}")
    double drop = 10;

    @Option(names = "--bandwidth-trace", paramLabel = "TRACE",
            description = "instead of a scripted drop, the link follows this trace ('seconds Mbit/s' lines, or "
                    + BandwidthTrace.BUILTIN + "); the oracle is not run")
    String trace;

    @Option(names = "--trace-start", paramLabel = "S", description = "trace second to start from. Default: ${DEFAULT-VALUE}")
    double traceStart = 28;

    @Option(names = "--trace-speedup", paramLabel = "X", description = "trace seconds per second. Default: ${DEFAULT-VALUE}")
    double traceSpeedup = 2;

    @Option(names = "--before", paramLabel = "S", description = "seconds before the drop. Default: ${DEFAULT-VALUE}")
    double before = 8;

    // long enough that the reaction (about 1.5-2 s) is under 5 % of the phase: otherwise the phase's p95 is the transient's
    @Option(names = "--after", paramLabel = "S", description = "seconds after it. Default: ${DEFAULT-VALUE}")
    double after = 40;

    @Option(names = "--out", paramLabel = "DIR", description = "where the timeline CSV and PNG go. Default: ${DEFAULT-VALUE}")
    Path out = Path.of("target/bench-adaptation");

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (drop <= 1 || before <= 0 || after <= 0 || tokens < 1) {
            throw EdgeSplitException.invalidArgument("--drop must be > 1, --before and --after > 0, --tokens >= 1");
        }
        AdaptationScenario.Options options = options(ClusterFile.read(cluster), model, tokens, drop,
                trace == null ? null : BandwidthTrace.read(trace), traceStart, traceSpeedup, before, after);
        PrintWriter err = spec.commandLine().getErr();
        List<Way> ways = trace == null ? List.of(Way.ADAPTIVE, Way.STATIC, Way.ORACLE) : List.of(Way.ADAPTIVE, Way.STATIC);
        Map<Way, Result> results = new LinkedHashMap<>();
        List<String> first = null;
        for (Way w : ways) {
            Result r = AdaptationScenario.run(options, w, first, line -> {
                if (!json) {
                    err.println(line);
                    err.flush();
                }
            });
            first = first == null ? r.firstPlan() : first; // every way starts from the adaptive run's first plan
            results.put(w, r);
        }
        Files.createDirectories(out);
        Path csv = out.resolve("timeline.csv");
        Path png = out.resolve("timeline.png");
        writeCsv(csv, results);
        plot(png, results);
        Map<String, Object> report = report(results, options, csv, png);
        report.put("command", BenchCommand.commandLine(spec));
        PrintWriter o = spec.commandLine().getOut();
        if (json) {
            o.println(Json.write(report));
        } else {
            for (Result r : results.values()) {
                o.printf(Locale.ROOT, "%-8s plan %s -> %s; p95 before %.1f ms, after the drop %.1f ms, after adapting %.1f ms%s%n",
                        r.way().name().toLowerCase(Locale.ROOT), r.firstPlan(), r.lastPlan(), r.p95BeforeMs(), r.p95AfterDropMs(),
                        r.p95AfterAdaptationMs(), r.switchAtS() == null ? "" : String.format(Locale.ROOT, " (switched %.2f s after "
                                + "the drop)", r.switchAtS() - r.dropAtS()));
            }
            o.println("reaction_s " + report.get("reaction_s") + ", p95_ratio_to_oracle " + report.get("p95_ratio_to_oracle")
                    + ", p95_ratio_static_to_adaptive " + report.get("p95_ratio_static_to_adaptive") + ", identical_outputs "
                    + report.get("identical_outputs"));
            o.println("timeline: " + csv + ", " + png + " (EMULATED links and device speeds)");
        }
        return EdgeSplitCli.OK;
    }

    /** The scenario on a cluster file's 'measure' nodes and links. */
    static AdaptationScenario.Options options(ClusterFile file, String model, int tokens, double drop, BandwidthTrace trace,
            double traceStart, double traceSpeedup, double before, double after) {
        if (!file.source().value().equals("gateway")) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "the cluster's source must be named 'gateway' (the "
                    + "orchestrator's gateway); it is '" + file.source() + "'");
        }
        List<AdaptationScenario.Node> nodes = new ArrayList<>();
        for (ClusterFile.NodeSpec n : file.nodes()) {
            if (n.times() instanceof ClusterFile.Measured m && m.profile() == null) {
                nodes.add(new AdaptationScenario.Node(n.id().value(), n.zone(), m.speed(),
                        new OrchestratorConfig.NodeInfo(n.power(), n.costPerHour(), n.memoryBytes())));
            }
        }
        if (nodes.size() < 2) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "the cluster needs at least two nodes with 'profile: measure'");
        }
        List<Link> links = file.links();
        return new AdaptationScenario.Options(model, tokens, nodes, links, drop, trace, traceStart, traceSpeedup,
                Duration.ofMillis((long) (before * 1000)), Duration.ofMillis((long) (after * 1000)), Objective.LATENCY, 8, 6);
    }

    static Map<String, Object> report(Map<Way, Result> results, AdaptationScenario.Options o, Path csv, Path png) {
        Result adaptive = results.get(Way.ADAPTIVE);
        Result fixed = results.get(Way.STATIC);
        Result oracle = results.get(Way.ORACLE);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("benchmark", "adaptation");
        root.put("model", o.model());
        root.put("tokens", o.tokens());
        root.put("emulated", "device speeds (workers stretch compute by 1/speed) and links (sender-side delays); compute, "
                + "gRPC, serialization, profiling, monitoring and migration are real");
        root.put("link", adaptive.link());
        root.put("link_nominal_mbps", adaptive.nominalMbps());
        root.put("change", o.trace() == null ? "bandwidth / " + o.dropFactor() : "trace " + o.trace().name() + " from "
                + o.traceStartS() + " s at " + o.traceSpeedup() + "x");
        root.put("reaction_s", adaptive.switchAtS() == null ? null : adaptive.switchAtS() - adaptive.dropAtS());
        Map<String, Object> ways = new LinkedHashMap<>();
        boolean identical = true;
        int failed = 0;
        for (Result r : results.values()) {
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("first_plan", r.firstPlan());
            w.put("last_plan", r.lastPlan());
            w.put("switches_after_drop", r.switchesS().stream().filter(t -> t >= r.dropAtS()).count());
            Map<String, Object> p95 = new LinkedHashMap<>();
            p95.put("before_drop", r.p95BeforeMs());
            p95.put("after_drop", r.p95AfterDropMs());
            p95.put("after_adaptation", r.p95AfterAdaptationMs());
            w.put("p95_ms", p95);
            w.put("requests", r.timeline().size());
            w.put("failed_requests", r.failedRequests());
            ways.put(r.way().name().toLowerCase(Locale.ROOT), w);
            identical &= r.consistent() && r.outputs().equals(adaptive.outputs());
            failed += r.failedRequests();
        }
        root.put("ways", ways);
        root.put("p95_ratio_to_oracle", oracle == null ? null : adaptive.p95AfterAdaptationMs() / oracle.p95AfterAdaptationMs());
        root.put("p95_ratio_static_to_adaptive", fixed.p95AfterDropMs() / adaptive.p95AfterDropMs());
        root.put("identical_outputs", identical);
        root.put("failed_requests", failed);
        root.put("decisions", adaptive.decisions().stream().filter(d -> !String.valueOf(d.get("kind")).startsWith("node-"))
                .toList());
        root.put("timeline_csv", csv.toString());
        root.put("timeline_png", png.toString());
        root.put("machine", BenchCommand.machine());
        return root;
    }

    static void writeCsv(Path csv, Map<Way, Result> results) throws IOException {
        StringBuilder b = new StringBuilder("way,t_s,latency_ms,link_mbps_emulated,epoch\n");
        for (Result r : results.values()) {
            for (Point p : r.timeline()) {
                b.append(String.format(Locale.ROOT, "%s,%.4f,%.3f,%.3f,%d%n", r.way().name().toLowerCase(Locale.ROOT), p.tS(),
                        p.latencyMs(), p.bandwidthMbps(), p.epoch()));
            }
        }
        Files.writeString(csv, b, StandardCharsets.UTF_8);
    }

    /** Latency over time per way (log scale), the link's bandwidth, the drop and the adaptive plan switches. */
    static void plot(Path png, Map<Way, Result> results) throws IOException {
        int w = 1100;
        int h = 600;
        int left = 70;
        int right = 70;
        int top = 40;
        int bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double tMax = 0;
        double lMin = Double.MAX_VALUE;
        double lMax = 0;
        double bMax = 0;
        for (Result r : results.values()) {
            for (Point p : r.timeline()) {
                tMax = Math.max(tMax, p.tS());
                lMin = Math.min(lMin, p.latencyMs());
                lMax = Math.max(lMax, p.latencyMs());
                bMax = Math.max(bMax, p.bandwidthMbps());
            }
        }
        double logMin = Math.log10(Math.max(0.1, lMin * 0.8));
        double logMax = Math.log10(Math.max(lMax * 1.2, lMin * 2));
        int pw = w - left - right;
        int ph = h - top - bottom;
        double tm = Math.max(tMax, 1e-3);
        double bm = Math.max(bMax, 1e-3);
        java.util.function.DoubleUnaryOperator x = t -> left + t / tm * pw;
        java.util.function.DoubleUnaryOperator yLat = l -> top + ph - (Math.log10(Math.max(l, 0.1)) - logMin) / (logMax - logMin) * ph;
        java.util.function.DoubleUnaryOperator yBw = bw -> top + ph - bw / bm * ph;
        g.setColor(Color.BLACK);
        g.drawRect(left, top, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("latency per request (ms, log scale) over time (s); EMULATED links and device speeds", left, 25);
        for (double decade = Math.pow(10, Math.floor(logMin)); decade <= Math.pow(10, Math.ceil(logMax)); decade *= 10) {
            for (double step : new double[] {1, 2, 5}) {
                double l = decade * step;
                int y = (int) yLat.applyAsDouble(l);
                if (y >= top && y <= top + ph) {
                    g.drawString(String.format(Locale.ROOT, l < 1 ? "%.1f" : "%.0f", l), 10, y + 4);
                    g.setColor(new Color(230, 230, 230));
                    g.drawLine(left, y, left + pw, y);
                    g.setColor(Color.BLACK);
                }
            }
        }
        for (int t = 0; t <= tMax; t += Math.max(1, (int) (tMax / 10))) {
            g.drawString(Integer.toString(t), (int) x.applyAsDouble(t) - 4, top + ph + 18);
        }
        g.drawString(String.format(Locale.ROOT, "link Mbit/s (max %.0f)", bMax), w - right - 130, top + ph + 36);
        Result any = results.values().iterator().next();
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1.5f));
        Point prev = null;
        for (Point p : any.timeline()) {
            if (prev != null) {
                g.drawLine((int) x.applyAsDouble(prev.tS()), (int) yBw.applyAsDouble(prev.bandwidthMbps()),
                        (int) x.applyAsDouble(p.tS()), (int) yBw.applyAsDouble(prev.bandwidthMbps()));
                g.drawLine((int) x.applyAsDouble(p.tS()), (int) yBw.applyAsDouble(prev.bandwidthMbps()),
                        (int) x.applyAsDouble(p.tS()), (int) yBw.applyAsDouble(p.bandwidthMbps()));
            }
            prev = p;
        }
        g.setColor(Color.RED);
        int dropX = (int) x.applyAsDouble(any.dropAtS());
        g.drawLine(dropX, top, dropX, top + ph);
        g.drawString("drop", dropX + 3, top + 12);
        Map<Way, Color> colors = Map.of(Way.ADAPTIVE, new Color(0, 110, 220), Way.STATIC, new Color(230, 120, 0),
                Way.ORACLE, new Color(0, 150, 60));
        int legend = 0;
        for (Result r : results.values()) {
            Color c = colors.get(r.way());
            g.setColor(c);
            for (Point p : r.timeline()) {
                g.fillOval((int) x.applyAsDouble(p.tS()) - 2, (int) yLat.applyAsDouble(p.latencyMs()) - 2, 4, 4);
            }
            if (r.way() == Way.ADAPTIVE) {
                g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
                for (double s : r.switchesS()) {
                    int sx = (int) x.applyAsDouble(s);
                    g.drawLine(sx, top, sx, top + ph);
                }
                g.setStroke(new BasicStroke(1f));
            }
            g.drawString(r.way().name().toLowerCase(Locale.ROOT) + (r.way() == Way.ADAPTIVE ? " (dashed: plan switches)" : ""),
                    left + 10 + 230 * legend++, top + ph + 36);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }
}
