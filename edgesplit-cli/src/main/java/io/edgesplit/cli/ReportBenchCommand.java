package io.edgesplit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.bench.report.LineChart;
import io.edgesplit.core.error.EdgeSplitException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench report DIR}: a Markdown report with PNG plots from the JSON results in a
 * folder ({@code bench loadgen --json}, {@code bench langchain4j --json}, {@code bench adaptation
 * --json}): per policy comparison, a table with the physical bound and the ratios to adaptive, the
 * latency CDF, the throughput over time and, under a bandwidth trace, the trace with each policy's
 * plan switches. Files it does not know are listed and left out.
 */
@Command(name = "report", description = "Build a Markdown report with PNG plots from the JSON results in a folder.")
final class ReportBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "a folder of *.json results")
    Path dir;

    @Option(names = "--out", paramLabel = "FILE", description = "the report (plots go beside it). Default: DIR/report.md")
    Path out;

    private final ObjectMapper mapper = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(dir)) {
            throw EdgeSplitException.invalidArgument("bench report: " + dir + " is not a folder");
        }
        Path report = out != null ? out : dir.resolve("report.md");
        Path plots = report.toAbsolutePath().getParent();
        Files.createDirectories(plots);
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
        if (files.isEmpty()) {
            throw EdgeSplitException.invalidArgument("bench report: no *.json results in " + dir);
        }
        StringBuilder md = new StringBuilder("# EdgeSplit benchmark report\n\n");
        md.append("Built by `./edgesplit bench report ").append(dir).append("` from ").append(files.size())
                .append(" result files. Latencies are in ms; ratios are the policy's figure over adaptive's (for latencies, ")
                .append("above 1 is slower than adaptive; for rates, above 1 is faster). The physical bound is the best latency ")
                .append("(or throughput) any feasible plan could have from the measured block times and link estimates, with no ")
                .append("queueing and no overhead; efficiency = bound / measured latency (or measured / bound throughput).\n\n");
        List<String> skipped = new ArrayList<>();
        boolean machineDone = false;
        for (Path f : files) {
            JsonNode r;
            try {
                r = mapper.readTree(f.toFile());
            } catch (IOException e) {
                skipped.add(f.getFileName() + " (not JSON: " + e.getMessage().lines().findFirst().orElse("") + ")");
                continue;
            }
            if (!machineDone && r.has("machine")) {
                md.append("## Machine\n\n");
                r.path("machine").fields().forEachRemaining(e -> md.append("- ").append(e.getKey()).append(": ")
                        .append(e.getValue().asText()).append('\n'));
                md.append('\n');
                machineDone = true;
            }
            String stem = f.getFileName().toString().replaceFirst("\\.json$", "");
            switch (r.path("benchmark").asText()) {
                case "loadgen" -> {
                    if (r.has("policies")) {
                        policies(md, r, stem, plots);
                    } else {
                        single(md, r, stem);
                    }
                }
                case "langchain4j" -> langchain4j(md, r, stem);
                case "adaptation" -> adaptation(md, r, stem, plots);
                default -> skipped.add(f.getFileName() + " (benchmark '" + r.path("benchmark").asText() + "' has no report section)");
            }
        }
        if (!skipped.isEmpty()) {
            md.append("## Not in this report\n\n");
            skipped.forEach(s -> md.append("- ").append(s).append('\n'));
        }
        Files.writeString(report, md, StandardCharsets.UTF_8);
        spec.commandLine().getOut().println("wrote " + report);
        return EdgeSplitCli.OK;
    }

    private static String ms(JsonNode nanos) {
        return nanos.isNumber() && nanos.asDouble() >= 0 ? String.format(Locale.ROOT, "%.1f", nanos.asDouble() / 1e6) : "—";
    }

    private static String num(JsonNode v, String format) {
        return v.isNumber() ? String.format(Locale.ROOT, format, v.asDouble()) : "—";
    }

    /** The run's metric in its unit: latencies in ms, rates as they are. */
    private static String metric(JsonNode m) {
        String what = m.path("metric").asText();
        return what.contains("(ns)") ? ms(m.path("result")) + " ms" : num(m.path("result"), "%.2f") + "/s";
    }

    private static void command(StringBuilder md, JsonNode r) {
        if (r.has("command")) {
            md.append("```\n").append(r.path("command").asText()).append("\n```\n\n");
        }
        if (r.has("emulated")) {
            md.append("Emulated: ").append(r.path("emulated").asText()).append(".\n\n");
        }
    }

    /** A policy's measured run: the run itself, or a server search's highest valid trial. */
    private static JsonNode measured(JsonNode policy) {
        return policy.has("trials") ? policy.path("best_run") : policy;
    }

    private void policies(StringBuilder md, JsonNode r, String stem, Path plots) throws IOException {
        JsonNode policies = r.path("policies");
        JsonNode first = policies.elements().next();
        String model = first.path("system_under_test").path("model").asText();
        String scenario = first.path("scenario").asText();
        boolean generative = measured(first).has("time_per_output_token_ns");
        boolean search = first.has("trials");
        md.append("## ").append(scenario).append(" on ").append(model).append(": policies side by side (`").append(stem)
                .append(".json`)\n\n");
        command(md, r);
        if (r.has("bandwidth_trace")) {
            JsonNode bt = r.path("bandwidth_trace");
            md.append("Bandwidth trace (EMULATED): ").append(bt.path("trace").asText()).append(" on ").append(bt.path("link").asText())
                    .append(" from ").append(bt.path("start_s").asText()).append(" s at ").append(bt.path("speedup").asText())
                    .append("x.\n\n");
        }
        md.append("Metric: ").append(first.path("metric").asText()).append(". ");
        if (search) {
            md.append("Latencies, failures and validity are those of the highest valid trial (or of none: blank). ");
        }
        md.append(generative ? "The bound is per output token (a decode step), beside the measured time per output token.\n\n"
                : "The bound is per request, beside the measured median latency.\n\n");
        md.append("| policy | plan at the end | switches | metric | p50 | p90 | p99 | bound | efficiency | ratio to adaptive "
                + "(metric) | failed | valid | below official minimums |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        JsonNode ratios = r.path("ratios_to_adaptive");
        Iterator<Map.Entry<String, JsonNode>> it = policies.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode m = e.getValue();
            JsonNode b = m.path("physical_bound");
            JsonNode run = measured(m);
            JsonNode lat = run.path("latency_ns");
            md.append("| ").append(e.getKey()).append(" | ").append(String.join(", ", strings(m.path("plan")))).append(" | ")
                    .append(m.path("plan_switches").asText()).append(" | ").append(metric(m)).append(" | ").append(ms(lat.path("p50")))
                    .append(" | ").append(ms(lat.path("p90"))).append(" | ").append(ms(lat.path("p99"))).append(" | ")
                    .append(b.has("query_bound_ms") ? num(b.path("query_bound_ms"), "%.1f")
                            : b.has("throughput_efficiency") ? num(b.path("best_throughput_rps"), "%.1f") + "/s"
                            : num(b.path("best_latency_ms"), "%.1f"))
                    .append(" | ").append(num(b.has("throughput_efficiency") ? b.path("throughput_efficiency")
                            : b.path("latency_efficiency"), "%.2f"))
                    .append(" | ").append(num(ratios.path(e.getKey()).path("result"), "%.2f")).append(" | ")
                    .append(run.path("failed_samples").asText()).append(" | ").append(run.path("result_valid").asText()).append(" | ")
                    .append(run.path("below_official_minimums").asText()).append(" |\n");
        }
        md.append('\n');
        if (search) {
            md.append("| policy | trials: target QPS (p99 ms, valid) |\n|---|---|\n");
            policies.fields().forEachRemaining(e -> {
                List<String> trials = new ArrayList<>();
                e.getValue().path("trials").forEach(t -> trials.add(String.format(Locale.ROOT, "%.2f (%s, %s)",
                        t.path("target_qps").asDouble(), ms(t.path("p99_ns")), t.path("result_valid").asText())));
                md.append("| ").append(e.getKey()).append(" | ").append(String.join("; ", trials)).append(" |\n");
            });
            md.append('\n');
        }
        if (generative) {
            md.append("| policy | time to first token p50 / p99 | time per output token p50 / p99 | bound per token |\n");
            md.append("|---|---|---|---|\n");
            policies.fields().forEachRemaining(e -> {
                JsonNode ttft = measured(e.getValue()).path("time_to_first_token_ns");
                JsonNode tpot = measured(e.getValue()).path("time_per_output_token_ns");
                md.append("| ").append(e.getKey()).append(" | ").append(ms(ttft.path("p50"))).append(" / ")
                        .append(ms(ttft.path("p99"))).append(" | ").append(ms(tpot.path("p50"))).append(" / ")
                        .append(ms(tpot.path("p99"))).append(" | ")
                        .append(num(e.getValue().path("physical_bound").path("best_latency_ms"), "%.2f")).append(" |\n");
            });
            md.append('\n');
        }

        LineChart cdf = new LineChart(scenario + " on " + model + ": latency CDF per policy", "latency (ms)", "fraction of "
                + (scenario.equals("multi-stream") ? "queries" : "samples"));
        LineChart tput = new LineChart(scenario + " on " + model + ": completed samples per second over the run", "time (s)",
                "samples/s").yFrom(0);
        policies.fields().forEachRemaining(e -> {
            JsonNode run = measured(e.getValue());
            double[] q = doubles(run.path("latency_quantiles_ns"));
            if (q.length == 0) {
                return; // a search without a valid trial
            }
            double[] frac = new double[q.length];
            for (int i = 0; i < q.length; i++) {
                q[i] /= 1e6;
                frac[i] = i / 100.0;
            }
            cdf.line(e.getKey(), q, frac);
            JsonNode tl = run.path("throughput_timeline");
            double[] rate = doubles(tl.path("samples_per_s"));
            double bin = tl.path("bin_s").asDouble(1);
            double[] t = new double[rate.length];
            for (int i = 0; i < t.length; i++) {
                t[i] = (i + 1) * bin;
            }
            tput.add(new LineChart.Series(e.getKey(), t, rate, false, true));
        });
        md.append("![latency CDF](").append(png(cdf, plots, stem + "-latency-cdf.png")).append(")\n\n");
        md.append("![throughput over time](").append(png(tput, plots, stem + "-throughput.png")).append(")\n\n");
        if (r.has("bandwidth_trace")) {
            LineChart bw = new LineChart("the traced link (EMULATED) and each policy's plan switches", "time (s)", "Mbit/s").yFrom(0);
            int k = 0;
            List<LineChart.Marker> marks = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> p = policies.fields(); p.hasNext(); k++) {
                Map.Entry<String, JsonNode> e = p.next();
                JsonNode tl = e.getValue().path("physical_bound").path("timeline");
                double[] t = doubles(tl.path("t_s"));
                double[] emu = mbps(doubles(tl.path("emulated_bytes_per_s")));
                double[] est = mbps(doubles(tl.path("estimated_bytes_per_s")));
                if (k == 0) {
                    bw.add(new LineChart.Series("emulated rate", t, emu, false, true));
                }
                bw.add(new LineChart.Series(e.getKey() + ": estimate", t, est, true, false));
                for (JsonNode s : e.getValue().path("switches")) {
                    marks.add(new LineChart.Marker(s.path("t_s").asDouble(), e.getKey() + " -> " + String.join(",",
                            strings(s.path("to"))), k + 1));
                }
            }
            marks.forEach(bw::mark);
            md.append("![bandwidth trace and plan switches](").append(png(bw, plots, stem + "-bandwidth.png")).append(")\n\n");
            if (marks.isEmpty()) {
                md.append("No policy switched plans during this run.\n\n");
            }
        }
    }

    private static double[] mbps(double[] bytesPerS) {
        double[] out = new double[bytesPerS.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytesPerS[i] < 0 ? Double.NaN : bytesPerS[i] * 8 / 1e6;
        }
        return out;
    }

    private static String png(LineChart c, Path dir, String name) throws IOException {
        c.write(dir.resolve(name));
        return name;
    }

    private static double[] doubles(JsonNode array) {
        double[] v = new double[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).asDouble();
        }
        return v;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static void single(StringBuilder md, JsonNode r, String stem) {
        md.append("## ").append(r.path("scenario").asText()).append(" on ").append(r.path("system_under_test").path("model").asText())
                .append(" (`").append(stem).append(".json`)\n\n");
        command(md, r);
        JsonNode lat = r.path("latency_ns");
        md.append("| plan | metric | result | p50 | p90 | p99 | failed | valid | below official minimums |\n")
                .append("|---|---|---|---|---|---|---|---|---|\n");
        md.append("| ").append(String.join(", ", strings(r.path("plan")))).append(" | ").append(r.path("metric").asText()).append(" | ")
                .append(metric(r)).append(" | ").append(ms(lat.path("p50")))
                .append(" | ").append(ms(lat.path("p90"))).append(" | ").append(ms(lat.path("p99"))).append(" | ")
                .append(r.path("failed_samples").asText()).append(" | ").append(r.path("result_valid").asText()).append(" | ")
                .append(r.path("below_official_minimums").asText()).append(" |\n\n");
    }

    private static void langchain4j(StringBuilder md, JsonNode r, String stem) {
        md.append("## The Java ecosystem's own way: LangChain4j vs EdgeSplit (`").append(stem).append(".json`)\n\n");
        command(md, r);
        md.append(r.path("sentences").asText()).append(" sentences of ").append(r.path("source").asText()).append(", model ")
                .append(r.path("model").asText()).append(".\n\n");
        md.append("| system | embeddings/s | ratio to LangChain4j | max abs diff | how |\n|---|---|---|---|---|\n");
        for (JsonNode s : r.path("systems")) {
            md.append("| ").append(s.path("system").asText()).append(" | ").append(num(s.path("embeddings_per_s"), "%.1f")).append(" | ")
                    .append(num(s.path("ratio_to_langchain4j"), "%.2f")).append(" | ").append(num(s.path("max_abs_diff"), "%.1e"))
                    .append(" | ").append(s.path("how").asText()).append(" |\n");
        }
        md.append('\n');
    }

    private static void adaptation(StringBuilder md, JsonNode r, String stem, Path plots) {
        md.append("## Adaptation to a bandwidth drop (`").append(stem).append(".json`)\n\n");
        command(md, r);
        md.append("| link | change | reaction (s) | p95 ratio to oracle | p95 static / adaptive | identical outputs | failed |\n")
                .append("|---|---|---|---|---|---|---|\n");
        md.append("| ").append(r.path("link").asText()).append(" | ").append(r.path("change").asText()).append(" | ")
                .append(num(r.path("reaction_s"), "%.2f")).append(" | ").append(num(r.path("p95_ratio_to_oracle"), "%.2f")).append(" | ")
                .append(num(r.path("p95_ratio_static_to_adaptive"), "%.2f")).append(" | ").append(r.path("identical_outputs").asText())
                .append(" | ").append(r.path("failed_requests").asText()).append(" |\n\n");
        if (Files.exists(plots.resolve(stem + "-timeline.png"))) {
            md.append("![latency over time around the drop](").append(stem).append("-timeline.png)\n\n");
        }
    }
}
