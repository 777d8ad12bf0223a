package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.orchestrator.http.HttpApi;
import io.edgesplit.worker.WorkerProcess;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code bench loadgen} against a real EdgeSplit: an orchestrator for each model behind the HTTP
 * API and a worker process. Runs are far below MLPerf's minimums (and say so); what is checked is
 * that the scenarios run against the real API and report LoadGen's fields, not any speed.
 */
class LoadgenIT {
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void theScenariosRunAgainstTheHttpApi() throws Exception {
        OrchestratorConfig enc = OrchestratorConfig.defaults("builtin:minilm", Policy.of(Objective.LATENCY)).withProfileTokens(16);
        OrchestratorConfig gen = OrchestratorConfig.defaults("builtin:stories260k", Policy.of(Objective.THROUGHPUT));
        try (Orchestrator minilm = Orchestrator.start(enc, "127.0.0.1", 0, 0);
                Orchestrator stories = Orchestrator.start(gen, "127.0.0.1", 0, 0);
                HttpApi api = HttpApi.start(List.of(minilm, stories), new HttpApi.Options(0, 64, Duration.ofMinutes(3)));
                WorkerProcess w = WorkerProcess.start("a", "edge", 1, 1.0, "127.0.0.1:" + minilm.controlPort() + ",127.0.0.1:"
                        + stories.controlPort(), 0)) {
            minilm.awaitTraffic(Duration.ofMinutes(3));
            stories.awaitTraffic(Duration.ofMinutes(3));
            String url = "http://127.0.0.1:" + api.port();

            CliTest.Run single = run("bench", "loadgen", "--scenario", "single-stream", "--model", "builtin:minilm", "--url", url,
                    "--min-duration-s", "1", "--min-queries", "70", "--json");
            assertThat(single.code()).as(single.err()).isZero();
            JsonNode s = json.readTree(single.out());
            assertThat(s.path("scenario").asText()).isEqualTo("single-stream");
            assertThat(s.path("queries").asLong()).isGreaterThanOrEqualTo(70);
            assertThat(s.path("failed_samples").asLong()).isZero();
            assertThat(s.path("early_stopping_met").asBoolean()).isTrue();
            assertThat(s.path("below_official_minimums").asBoolean()).isTrue();
            assertThat(s.path("early_stopping").path("estimate_ns").asLong()).isGreaterThanOrEqualTo(s.path("result").asLong());

            CliTest.Run offline = run("bench", "loadgen", "--scenario", "offline", "--model", "builtin:minilm", "--url", url,
                    "--min-duration-s", "0", "--samples", "16", "--json");
            assertThat(offline.code()).as(offline.err()).isZero();
            assertThat(json.readTree(offline.out()).path("samples").asInt()).isEqualTo(16);
            assertThat(json.readTree(offline.out()).path("result").asDouble()).isPositive();

            CliTest.Run tokens = run("bench", "loadgen", "--scenario", "single-stream", "--model", "builtin:stories260k", "--url",
                    url, "--min-duration-s", "0", "--min-queries", "5", "--max-tokens", "8", "--json");
            assertThat(tokens.code()).as(tokens.err()).isZero();
            JsonNode t = json.readTree(tokens.out());
            assertThat(t.path("failed_samples").asLong()).isZero();
            assertThat(t.path("time_to_first_token_ns").path("p50").asLong()).isPositive()
                    .isLessThan(t.path("latency_ns").path("p50").asLong());
            assertThat(t.path("time_per_output_token_ns").path("p50").asLong()).isPositive();
            assertThat(t.path("early_stopping_met").asBoolean()).as("5 queries are too few for early stopping").isFalse();

            CliTest.Run server = run("bench", "loadgen", "--scenario", "server", "--model", "builtin:minilm", "--url", url,
                    "--target-qps", "20", "--min-duration-s", "1", "--min-queries", "30", "--latency-bound-ms", "5000", "--json");
            assertThat(server.code()).as(server.err()).isZero();
            JsonNode sv = json.readTree(server.out());
            assertThat(sv.path("queries").asLong()).isGreaterThanOrEqualTo(30);
            assertThat(sv.path("early_stopping").path("more_queries_needed").path("latency").asLong()).as("459 needed at the 99th").isPositive();

            // the Azure conversation trace's arrivals and sizes, scaled to stories260K's context and this machine
            CliTest.Run replay = run("bench", "loadgen", "--scenario", "server", "--model", "builtin:stories260k", "--url", url,
                    "--trace", "builtin:azure-conv", "--trace-duration-s", "8", "--trace-speedup", "2", "--max-tokens", "8", "--json");
            assertThat(replay.code()).as(replay.err()).isZero();
            JsonNode rp = json.readTree(replay.out());
            int requests = rp.path("trace").path("requests").asInt();
            assertThat(requests).isPositive();
            assertThat(rp.path("samples").asInt() + rp.path("failed_samples").asInt()).isEqualTo(requests);
            assertThat(rp.path("failed_samples").asLong()).isZero();
            assertThat(rp.path("time_to_first_token_ns").path("p50").asLong()).isPositive();

            CliTest.Run noQps = run("bench", "loadgen", "--scenario", "server", "--model", "builtin:minilm", "--url", url);
            assertThat(noQps.code()).isEqualTo(2);
            assertThat(noQps.err()).contains("--target-qps");
            CliTest.Run unknown = run("bench", "loadgen", "--scenario", "single-stream", "--model", "nope", "--url", url);
            assertThat(unknown.code()).isEqualTo(2);
            assertThat(unknown.err()).contains("does not serve 'nope'");
        }
        CliTest.Run down = run("bench", "loadgen", "--scenario", "offline", "--model", "builtin:minilm", "--url",
                "http://127.0.0.1:9");
        assertThat(down.code()).isEqualTo(2);
        assertThat(down.err()).contains("nothing answers");
    }

    @Test
    void policiesRunOneAfterAnotherOnTheClusterOfAFileUnderTheSameBandwidthTrace() throws Exception {
        CliTest.Run r = run("bench", "loadgen", "--cluster", "../examples/cluster-emulated.yaml", "--policy", "adaptive,equal-split",
                "--scenario", "offline", "--model", "builtin:minilm", "--samples", "12", "--min-duration-s", "0",
                "--bandwidth-trace", "builtin:norway_bus_1", "--bandwidth-start-s", "28", "--bandwidth-speedup", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = json.readTree(r.out());
        assertThat(s.path("emulated").asText()).contains("EMULATED");
        assertThat(s.path("bandwidth_trace").path("trace").asText()).isEqualTo("builtin:norway_bus_1");
        JsonNode adaptive = s.path("policies").path("adaptive");
        JsonNode equal = s.path("policies").path("equal-split");
        assertThat(adaptive.path("samples").asInt()).isEqualTo(12);
        assertThat(equal.path("failed_samples").asInt()).isZero();
        assertThat(equal.path("plan").size()).as("an equal split over the three measured nodes").isGreaterThan(1);
        assertThat(s.path("ratios_to_adaptive").path("adaptive").path("result").asDouble()).isEqualTo(1.0);
        assertThat(s.path("ratios_to_adaptive").path("equal-split").path("result").asDouble()).isPositive();
        assertThat(s.path("command").asText()).startsWith("./edgesplit bench loadgen --cluster");
        for (JsonNode p : List.of(adaptive, equal)) {
            JsonNode bound = p.path("physical_bound");
            double best = bound.path("best_latency_ms").asDouble();
            assertThat(best).as(bound.toString()).isPositive();
            assertThat(bound.path("served_plan_latency_ms").asDouble()).as("no plan beats the best one")
                    .isGreaterThanOrEqualTo(best * (1 - 1e-9));
            assertThat(bound.path("throughput_efficiency").asDouble()).isPositive();
            assertThat(bound.path("timeline").path("emulated_bytes_per_s").size()).isPositive();
            JsonNode tl = p.path("throughput_timeline");
            double completed = 0;
            for (JsonNode v : tl.path("samples_per_s")) {
                completed += v.asDouble() * tl.path("bin_s").asDouble();
            }
            assertThat(completed).isCloseTo(12, org.assertj.core.api.Assertions.within(1e-6));
            assertThat(p.path("latency_quantiles_ns").size()).isEqualTo(101);
            assertThat(p.path("switches").size()).isEqualTo(p.path("plan_switches").asInt());
        }
        assertThat(equal.path("physical_bound").path("served_plan_latency_ms").asDouble())
                .as("equal-split's plan is not the fastest one").isGreaterThan(equal.path("physical_bound").path("best_latency_ms")
                        .asDouble());

        // the report of this result: its table and its three plots
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("edgesplit-report");
        java.nio.file.Files.writeString(dir.resolve("policies.json"), r.out());
        java.nio.file.Files.writeString(dir.resolve("notes.json"), "{\"benchmark\": \"something-else\"}");
        CliTest.Run report = run("bench", "report", dir.toString());
        assertThat(report.code()).as(report.err()).isZero();
        String md = java.nio.file.Files.readString(dir.resolve("report.md"));
        assertThat(md).contains("## offline on builtin:minilm: policies side by side", "| adaptive | ", "| equal-split | ",
                "Bandwidth trace (EMULATED): builtin:norway_bus_1", "notes.json (benchmark 'something-else' has no report section)");
        for (String png : List.of("policies-latency-cdf.png", "policies-throughput.png", "policies-bandwidth.png")) {
            assertThat(md).contains("](" + png + ")");
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(dir.resolve(png).toFile());
            assertThat(img.getWidth()).as(png).isEqualTo(1000);
        }
        CliTest.Run empty = run("bench", "report", java.nio.file.Files.createTempDirectory("edgesplit-empty").toString());
        assertThat(empty.code()).isEqualTo(2);
        assertThat(empty.err()).contains("no *.json results");
        CliTest.Run bad = run("bench", "loadgen", "--cluster", "../examples/cluster-emulated.yaml", "--policy", "fastest",
                "--scenario", "offline", "--model", "builtin:minilm");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown policy 'fastest'");
    }
}
