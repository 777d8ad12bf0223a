package io.edgesplit.cli;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.orchestrator.BandwidthTrace;
import io.edgesplit.orchestrator.DemoScenario;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit demo}: the main job. Starts the orchestrators of MiniLM and stories260K, their
 * HTTP API and three worker processes (EMULATED device speeds, one in the trusted zone), plays
 * steady load, a link following a real bandwidth trace, a killed worker and its return, and prints
 * what the system chose and why, with latency per phase beside the static baseline.
 */
@Command(name = "demo", description = "Run the demo: 2 models on 3 local worker processes under steady load, a bandwidth trace, a kill and a rejoin.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--duration", paramLabel = "S", description = "seconds the four phases take together. Default: ${DEFAULT-VALUE}")
    double duration = 60;

    @Option(names = "--keep-running", description = "leave everything up afterwards (the HTTP API's URL is printed) until Ctrl-C")
    boolean keepRunning;

    @Option(names = "--json", description = "print the summary as JSON")
    boolean json;

    @Option(names = "--http-port", paramLabel = "P", description = "the HTTP API's loopback port (0: any free one). Default: ${DEFAULT-VALUE}")
    int httpPort = 0;

    @Option(names = "--bandwidth-trace", paramLabel = "TRACE",
            description = "the trace the link follows ('seconds Mbit/s' lines, or builtin:NAME). Default: ${DEFAULT-VALUE}")
    String trace = BandwidthTrace.BUILTIN;

    @Option(names = "--trace-start", paramLabel = "S", description = "trace second to start from. Default: ${DEFAULT-VALUE}")
    double traceStart = 28;

    @Option(names = "--trace-speedup", paramLabel = "X", description = "trace seconds per second. Default: ${DEFAULT-VALUE}")
    double traceSpeedup = 2;

    @Override
    public Integer call() throws Exception {
        if (!(duration >= 8) || httpPort < 0 || httpPort > 65535 || !(traceSpeedup > 0) || traceStart < 0) {
            throw EdgeSplitException.invalidArgument("--duration must be >= 8, --http-port 0-65535, --trace-speedup > 0 and "
                    + "--trace-start >= 0");
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        Progress progress = new Progress(err, terminal());
        DemoScenario.Options options = new DemoScenario.Options(Duration.ofMillis((long) (duration * 1000)), httpPort,
                BandwidthTrace.read(trace), traceStart, traceSpeedup);
        err.println("EdgeSplit demo: " + DemoScenario.ENCODER + " and " + DemoScenario.DECODER + " on 3 worker processes "
                + "(device speeds and links EMULATED)");
        try (DemoScenario demo = DemoScenario.start(options, progress)) {
            Map<String, Object> summary = demo.play();
            progress.done();
            if (json) {
                out.println(Json.write(summary));
            } else {
                print(out, summary);
            }
            out.flush();
            if (keepRunning) {
                err.println("everything stays up: the HTTP API is at " + demo.url() + " (/v1/models, /v1/completions, "
                        + "/v1/embeddings, /api/plan?model=, /api/cluster, /api/events, /metrics); Ctrl-C stops it");
                err.flush();
                CountDownLatch stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
                stop.await();
            }
            boolean ok = ((Number) summary.get("failed_requests")).longValue() == 0 && Boolean.TRUE.equals(summary.get("identical_outputs"));
            return ok ? EdgeSplitCli.OK : 1;
        }
    }

    private static boolean terminal() {
        java.io.Console c = System.console();
        if (c == null || "dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try { // JDK 22+: a console exists even when redirected; ask whether it is a terminal
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    /** Progress as a bar redrawn in place on a terminal, as plain lines otherwise. */
    static final class Progress implements DemoScenario.Listener {
        private final PrintWriter err;
        private final boolean terminal;
        private String bar = "";

        Progress(PrintWriter err, boolean terminal) {
            this.err = err;
            this.terminal = terminal;
        }

        @Override
        public synchronized void line(String text) {
            clear();
            err.println(text);
            err.flush();
        }

        @Override
        public synchronized void progress(String what, double fraction) {
            if (!terminal) {
                return; // the phases and steps are told as lines already
            }
            int width = 30;
            int filled = (int) Math.round(Math.max(0, Math.min(1, fraction)) * width);
            clear();
            bar = String.format(Locale.ROOT, "[%s%s] %3.0f%% %s", "#".repeat(filled), ".".repeat(width - filled), fraction * 100, what);
            err.print(bar);
            err.flush();
        }

        private void clear() {
            if (!bar.isEmpty()) {
                err.print("\r" + " ".repeat(bar.length()) + "\r");
                bar = "";
            }
        }

        synchronized void done() {
            clear();
            err.flush();
        }
    }

    @SuppressWarnings("unchecked")
    private static void print(PrintWriter o, Map<String, Object> s) {
        o.println("EdgeSplit demo summary (" + s.get("emulated") + ")");
        o.println();
        o.println("Plans chosen and why:");
        for (Map<String, Object> c : (List<Map<String, Object>>) s.get("plan_changes")) {
            String when = String.format(Locale.ROOT, "%7.1f s", ((Number) c.get("t_s")).doubleValue());
            String kind = String.valueOf(c.get("kind"));
            String lane = c.get("privacy_class") == null ? String.valueOf(c.get("model"))
                    : c.get("model") + " [" + c.get("privacy_class") + "]";
            StringBuilder line = new StringBuilder(when + "  " + lane + "  " + kind + " -> " + c.get("chosen_plan"));
            if (c.get("from_plan") != null) {
                line.append(" (was ").append(c.get("from_plan")).append(")");
            }
            line.append(": ").append(c.get("trigger"));
            if (c.get("predicted_current") instanceof Number cur && c.get("predicted_new") instanceof Number next) {
                line.append(String.format(Locale.ROOT, "; predicted %.1f -> %.1f ms", cur.doubleValue(), next.doubleValue()));
            }
            if (c.get("gain_over_horizon_ms") instanceof Number g && c.get("move_cost_ms") instanceof Number m) {
                line.append(String.format(Locale.ROOT, ", gain over the horizon %.0f ms vs move cost %.0f ms", g.doubleValue(),
                        m.doubleValue()));
            }
            if (c.get("recovery_ms") instanceof Number r) {
                line.append(String.format(Locale.ROOT, ", recovered in %d ms", r.longValue()));
            }
            o.println(line);
        }
        o.println("  plans considered and kept (gain too small or too soon): " + s.get("kept_decisions"));
        o.println();
        List<Map<String, Object>> migrations = (List<Map<String, Object>>) s.get("migrations");
        o.println("Migrations: " + migrations.size());
        for (Map<String, Object> m : migrations) {
            o.printf(Locale.ROOT, "%7.1f s  %s  %s: %s range(s) loaded, %s sequence(s), %s KV bytes copied, stall %s ms, total %s ms%n",
                    ((Number) m.get("t_s")).doubleValue(), m.get("model"), m.get("method"), m.get("ranges_loaded"), m.get("sequences"),
                    m.get("kv_bytes"), num(m.get("stall_ms")), num(m.get("total_ms")));
        }
        o.println();
        o.println("Script:");
        for (Map<String, Object> e : (List<Map<String, Object>>) s.get("script")) {
            o.printf(Locale.ROOT, "%7.1f s  %s%n", ((Number) e.get("t_s")).doubleValue(), e.get("what"));
        }
        o.println();
        o.println("Latency per phase (measured at the HTTP client; static = the first plan kept, PREDICTED by the cost model):");
        o.printf(Locale.ROOT, "%-10s %-27s %8s %6s %9s %9s %14s %14s%n", "phase", "model", "requests", "failed", "p50 ms", "p95 ms",
                "pred. serving", "pred. static");
        for (Map<String, Object> p : (List<Map<String, Object>>) s.get("phases")) {
            for (Map.Entry<String, Object> e : ((Map<String, Object>) p.get("models")).entrySet()) {
                Map<String, Object> m = (Map<String, Object>) e.getValue();
                o.printf(Locale.ROOT, "%-10s %-27s %8s %6s %9s %9s %14s %14s%n", p.get("name"), e.getKey(), m.get("requests"),
                        m.get("failed"), num(m.get("p50_ms")), num(m.get("p95_ms")), num(m.get("predicted_serving_ms")),
                        num(m.get("predicted_static_ms")));
            }
        }
        o.println("  units: " + DemoScenario.ENCODER + " ms per request (" + s.get("tokens_per_embedding_request")
                + " tokens on average), " + DemoScenario.DECODER + " ms per generated token; static '-' while a node of it is dead");
        o.println();
        Map<String, Object> privacy = (Map<String, Object>) s.get("privacy");
        o.println("Privacy class " + privacy.get("class") + " (zones " + privacy.get("allowed_zones") + "): routes "
                + privacy.get("routes") + "; bytes of it sent, as the workers counted them: " + privacy.get("bytes_sent")
                + "; outside its zones: " + privacy.get("bytes_outside_allowed_zones") + "; refused by workers: "
                + privacy.get("refused_by_workers"));
        o.println();
        o.println("requests " + s.get("requests") + ", failed_requests " + s.get("failed_requests") + ", identical_outputs "
                + s.get("identical_outputs") + " (" + s.get("outputs_compared") + ")");
    }

    private static String num(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.1f", n.doubleValue()) : "-";
    }
}
