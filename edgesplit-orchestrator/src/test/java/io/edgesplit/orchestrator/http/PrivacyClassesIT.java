package io.edgesplit.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.PrivacyClass;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.wire.v1.Telemetry;
import io.edgesplit.worker.WorkerProcess;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Privacy classes through the API: a request names its class (header or field) or its API key
 * does; it runs on a route of its class's own within the zones the class allows, gives the same
 * output as an unrestricted request, and not a byte of it leaves those zones (the workers' own
 * per-class counters say so). A class with no node in its zones, or whose only node died, is
 * refused with an explicit error, never run elsewhere; when the node is back, the class is served
 * again.
 */
class PrivacyClassesIT {
    private static final String MINILM = "builtin:minilm";
    private static final String STORIES = "builtin:stories260k";
    private static final String TRUSTED = "trusted";
    private final List<WorkerProcess> processes = new ArrayList<>();
    private final ApiCalls calls = new ApiCalls();
    private final ObjectMapper json = new ObjectMapper();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    /** Bytes each worker sent of requests of {@code cls}, by "worker->peer". */
    private static Map<String, Long> sentOfClass(Orchestrator o, String cls) {
        Map<String, Long> out = new java.util.TreeMap<>();
        o.workerTelemetry().forEach((node, t) -> {
            for (var b : t.getSentList()) {
                if (b.getPrivacyClass().equals(cls)) {
                    out.merge(node + "->" + b.getPeer(), b.getBytesSent(), Long::sum);
                }
            }
        });
        return out;
    }

    private static long refusedForPrivacy(Orchestrator o) {
        return o.workerTelemetry().values().stream().mapToLong(Telemetry::getRejectedPrivacy).sum();
    }

    @Test
    void requestsOfAClassStayInItsZones() throws Exception {
        Map<String, PrivacyClass> classes = Map.of(TRUSTED, new PrivacyClass(TRUSTED, Set.of(TRUSTED)),
                "vault", new PrivacyClass("vault", Set.of("vault")));
        OrchestratorConfig enc = OrchestratorConfig.defaults(MINILM, Policy.of(Objective.LATENCY)).withMinWorkers(3)
                .withProfileTokens(16).withTiming(Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250))
                .withPrivacyClasses(classes);
        OrchestratorConfig gen = OrchestratorConfig.defaults(STORIES, Policy.of(Objective.THROUGHPUT)).withMinWorkers(3)
                .withTiming(Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250)).withPrivacyClasses(classes);
        String key = "sk-edgesplit-camera-0123456789";
        try (Orchestrator minilm = Orchestrator.start(enc, "127.0.0.1", 0, 0);
                Orchestrator stories = Orchestrator.start(gen, "127.0.0.1", 0, 0);
                HttpApi api = HttpApi.start(List.of(minilm, stories), new HttpApi.Options(0, 8, Duration.ofMinutes(3)));
                HttpApi keyed = HttpApi.start(List.of(minilm, stories), new HttpApi.Options(0, 8, Duration.ofMinutes(3),
                        Map.of(key, new HttpApi.ApiKey("camera-app", TRUSTED))))) {
            String join = "127.0.0.1:" + minilm.controlPort() + ",127.0.0.1:" + stories.controlPort();
            processes.add(WorkerProcess.start("a", "edge", 1, 1.0, join, 0));
            processes.add(WorkerProcess.start("b", "edge", 1, 1.0, join, 0));
            processes.add(WorkerProcess.start("cam", TRUSTED, 1, 0.5, join, 0)); // EMULATED: half speed
            int port = api.port();
            String sentence = "{\"model\": \"builtin:minilm\", \"input\": \"The door code is 4711.\"}";
            HttpResponse<String> open = calls.post(port, "/v1/embeddings", sentence);
            assertThat(open.statusCode()).as(open.body()).isEqualTo(200);
            JsonNode plain = json.readTree(open.body()).path("data").get(0).path("embedding");

            // by header: the class's own route, all in its zone; the same embedding
            HttpResponse<String> classed = calls.post(port, "/v1/embeddings", sentence, HttpApi.PRIVACY_HEADER, TRUSTED);
            assertThat(classed.statusCode()).as(classed.body()).isEqualTo(200);
            JsonNode got = json.readTree(classed.body()).path("data").get(0).path("embedding");
            double worst = 0;
            for (int d = 0; d < plain.size(); d++) {
                worst = Math.max(worst, Math.abs(got.get(d).asDouble() - plain.get(d).asDouble()));
            }
            assertThat(worst).as("largest difference from the unrestricted embedding").isLessThanOrEqualTo(1e-5);
            assertThat(minilm.classPlans().get(TRUSTED)).isNotEmpty().allMatch(st -> st.startsWith("cam:"));

            // by field, for a generative model: the same greedy text as unrestricted
            String prompt = "{\"model\": \"builtin:stories260k\", \"prompt\": \"Once upon a time\", \"max_tokens\": 12, "
                    + "\"temperature\": 0%s}";
            HttpResponse<String> free = calls.post(port, "/v1/completions", String.format(prompt, ""));
            HttpResponse<String> kept = calls.post(port, "/v1/completions", String.format(prompt, ", \"privacy_class\": \"trusted\""));
            assertThat(kept.statusCode()).as(kept.body()).isEqualTo(200);
            assertThat(json.readTree(kept.body()).path("choices").get(0).path("text").asText())
                    .isEqualTo(json.readTree(free.body()).path("choices").get(0).path("text").asText());
            assertThat(stories.classPlans().get(TRUSTED)).isNotEmpty().allMatch(st -> st.startsWith("cam:"));

            // by API key: a request that names no class runs in the key's; naming another is refused
            long before = sentOfClass(minilm, TRUSTED).values().stream().mapToLong(Long::longValue).sum();
            HttpResponse<String> byKey = calls.post(keyed.port(), "/v1/embeddings", sentence, "Authorization", "Bearer " + key);
            assertThat(byKey.statusCode()).as(byKey.body()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(sentOfClass(minilm, TRUSTED).values().stream()
                    .mapToLong(Long::longValue).sum()).isGreaterThan(before));
            calls.assertError(calls.post(keyed.port(), "/v1/embeddings", sentence, "Authorization", "Bearer " + key,
                    HttpApi.PRIVACY_HEADER, "vault"), 403, "privacy_class", "runs every request in privacy class 'trusted'");

            // not a byte of the class went anywhere but from cam back to the gateway
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(sentOfClass(minilm, TRUSTED)).isNotEmpty().allSatisfy((link, bytes) -> assertThat(link)
                        .isEqualTo("cam->gateway"));
                assertThat(sentOfClass(stories, TRUSTED)).isNotEmpty().allSatisfy((link, bytes) -> assertThat(link)
                        .isEqualTo("cam->gateway"));
            });
            assertThat(refusedForPrivacy(minilm)).isZero();

            // a class with no node in its zones: an explicit error, and nothing of it ran
            calls.assertError(calls.post(port, "/v1/embeddings", sentence, HttpApi.PRIVACY_HEADER, "vault"), 503,
                    "privacy_class", "has no feasible placement");
            calls.assertError(calls.post(port, "/v1/completions", String.format(prompt, ", \"privacy_class\": \"vault\"")), 503,
                    "privacy_class", "zones [vault]");
            assertThat(sentOfClass(minilm, "vault")).isEmpty();
            calls.assertError(calls.post(port, "/v1/embeddings", sentence, HttpApi.PRIVACY_HEADER, "secret"), 400,
                    "privacy_class", "unknown privacy class 'secret'");
            calls.assertError(calls.post(port, "/v1/embeddings", sentence.replace("}", ", \"privacy_class\": \"vault\"}"),
                    HttpApi.PRIVACY_HEADER, TRUSTED), 400, "privacy_class", "header says 'trusted'");
            JsonNode plan = json.readTree(calls.get(port, "/api/plan?model=" + MINILM).body());
            assertThat(plan.path("privacy_routes").path(TRUSTED).get(0).asText()).startsWith("cam:");
            DashboardCheck page = DashboardCheck.open("http://127.0.0.1:" + port, List.of("gateway", "a", "b", "cam"),
                    List.of(MINILM, STORIES));
            if (page != null) { // the dashboard shows the class's own route beside the serving plans
                try {
                    page.waitForClassRoute("cam:0-");
                    page.screenshot(java.nio.file.Path.of("target", "dashboard-privacy-routes.png"));
                } finally {
                    page.close();
                }
            }

            // its only node is drained: refused while it is (the operator wants it empty), served again after
            assertThat(calls.post(port, "/api/nodes/cam/drain", "").statusCode()).isEqualTo(202);
            calls.assertError(calls.post(port, "/v1/embeddings", sentence, HttpApi.PRIVACY_HEADER, TRUSTED), 503,
                    "privacy_class", "has no feasible placement");
            assertThat(calls.http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                    + "/api/nodes/cam/drain")).DELETE().build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(calls.post(port, "/v1/embeddings", sentence, HttpApi.PRIVACY_HEADER, TRUSTED).statusCode()).isEqualTo(200);

            // its only node dies: refused, not moved to the nodes that are left; unrestricted requests go on
            processes.get(2).kill();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> calls.assertError(calls.post(port, "/v1/embeddings",
                    sentence, HttpApi.PRIVACY_HEADER, TRUSTED), 503, "privacy_class", "has no feasible placement"));
            assertThat(calls.post(port, "/v1/embeddings", sentence).statusCode()).isEqualTo(200);
            assertThat(minilm.classPlans().get(TRUSTED)).allMatch(st -> st.startsWith("cam:"));
            assertThat(minilm.decisions().entries("no-plan")).anySatisfy(e -> assertThat(e.get("privacy_class")).isEqualTo(TRUSTED));

            // it rejoins: the class's route is rebuilt on it
            processes.add(WorkerProcess.start("cam", TRUSTED, 1, 0.5, join, 0));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(calls.post(port, "/v1/embeddings", sentence,
                    HttpApi.PRIVACY_HEADER, TRUSTED).statusCode()).isEqualTo(200));
            assertThat(minilm.decisions().entries("recover")).anySatisfy(e -> assertThat(e.get("privacy_class")).isEqualTo(TRUSTED));
            HttpResponse<String> again = calls.post(port, "/v1/completions", String.format(prompt, ", \"privacy_class\": \"trusted\""));
            assertThat(json.readTree(again.body()).path("choices").get(0).path("text").asText())
                    .isEqualTo(json.readTree(free.body()).path("choices").get(0).path("text").asText());
            assertThat(sentOfClass(minilm, TRUSTED)).allSatisfy((link, bytes) -> assertThat(link).isEqualTo("cam->gateway"));
        }
    }
}
