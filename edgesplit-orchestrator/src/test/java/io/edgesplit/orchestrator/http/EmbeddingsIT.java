package io.edgesplit.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.worker.WorkerProcess;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two orchestrators in one process (MiniLM and stories260K) sharing two worker processes that
 * joined both: /v1/embeddings gives MiniLM's mean-pooled, normalized sentence embedding as the
 * whole model computes it here, completions still serve the other model, and the admin API shows
 * both models.
 */
class EmbeddingsIT {
    private static final String MINILM = "builtin:minilm";
    private static final String STORIES = "builtin:stories260k";
    private final List<WorkerProcess> processes = new ArrayList<>();
    private final ApiCalls calls = new ApiCalls();
    private final ObjectMapper json = new ObjectMapper();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    /** The sentence embedding as sentence-transformers defines it, from the whole model run here. */
    private static float[] reference(Orchestrator o, String text) throws Exception {
        try (Tokenizer tok = o.model().model().tokenizer().open(); LocalPipeline whole = LocalPipeline.whole(o.model())) {
            int[] ids = tok.encode(text);
            long[] id = new long[ids.length];
            long[] ones = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                id[i] = ids[i];
                ones[i] = 1;
            }
            var env = OrtRuntime.get().env();
            Map<String, OnnxTensor> in = new HashMap<>();
            in.put("input_ids", OnnxTensor.createTensor(env, new long[][] {id}));
            in.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {ones}));
            in.put("token_type_ids", OnnxTensor.createTensor(env, new long[][] {new long[ids.length]}));
            try (LocalPipeline.Result r = whole.run(StepContext.stateless(1), in)) {
                OnnxTensor h = r.outputs().get("last_hidden_state");
                long[] shape = h.getInfo().getShape();
                int dim = (int) shape[2];
                FloatBuffer v = h.getFloatBuffer();
                double[] sum = new double[dim];
                for (int t = 0; t < ids.length; t++) {
                    for (int d = 0; d < dim; d++) {
                        sum[d] += v.get(t * dim + d);
                    }
                }
                double norm = 0;
                for (double x : sum) {
                    norm += x * x;
                }
                float[] e = new float[dim];
                for (int d = 0; d < dim; d++) {
                    e[d] = (float) (sum[d] / Math.sqrt(norm));
                }
                return e;
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static double cosine(JsonNode a, JsonNode b) {
        double dot = 0;
        for (int i = 0; i < a.size(); i++) {
            dot += a.get(i).asDouble() * b.get(i).asDouble();
        }
        return dot; // both have norm 1
    }

    @Test
    void embeddingsBesideCompletionsOnSharedWorkers() throws Exception {
        OrchestratorConfig enc = OrchestratorConfig.defaults(MINILM, Policy.of(Objective.LATENCY)).withMinWorkers(2)
                .withProfileTokens(16).withTiming(Duration.ofMillis(200), Duration.ofMillis(3000), Duration.ofMillis(500));
        OrchestratorConfig gen = OrchestratorConfig.defaults(STORIES, Policy.of(Objective.THROUGHPUT)).withMinWorkers(2)
                .withTiming(Duration.ofMillis(200), Duration.ofMillis(3000), Duration.ofMillis(500));
        try (Orchestrator minilm = Orchestrator.start(enc, "127.0.0.1", 0, 0);
                Orchestrator stories = Orchestrator.start(gen, "127.0.0.1", 0, 0);
                HttpApi api = HttpApi.start(List.of(minilm, stories), new HttpApi.Options(0, 8, Duration.ofMinutes(3)))) {
            String join = "127.0.0.1:" + minilm.controlPort() + ",127.0.0.1:" + stories.controlPort();
            for (String name : List.of("a", "b")) {
                processes.add(WorkerProcess.start(name, "edge", 1, 1.0, join, 0));
            }
            int port = api.port();
            List<String> texts = List.of("A cat sat on the mat.", "A kitten was sitting on a rug.",
                    "The central bank raised interest rates again.");

            JsonNode models = json.readTree(calls.get(port, "/v1/models").body()).path("data");
            assertThat(models.findValuesAsText("id")).containsExactly(MINILM, STORIES);
            assertThat(models.findValuesAsText("kind")).containsExactly("embeddings", "completions");

            HttpResponse<String> r = calls.post(port, "/v1/embeddings", json.writeValueAsString(Map.of("model", MINILM, "input", texts)));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode data = json.readTree(r.body()).path("data");
            assertThat(data).hasSize(3);
            for (int i = 0; i < texts.size(); i++) {
                float[] expected = reference(minilm, texts.get(i));
                JsonNode got = data.get(i).path("embedding");
                assertThat(data.get(i).path("index").asInt()).isEqualTo(i);
                assertThat(got).hasSize(384);
                double worst = 0;
                for (int d = 0; d < expected.length; d++) {
                    worst = Math.max(worst, Math.abs(got.get(d).asDouble() - expected[d]));
                }
                assertThat(worst).as("largest difference from the whole model, input %d", i).isLessThanOrEqualTo(1e-5);
            }
            // a pretrained sentence encoder: the paraphrase is nearer than the unrelated sentence
            assertThat(cosine(data.get(0).path("embedding"), data.get(1).path("embedding")))
                    .isGreaterThan(cosine(data.get(0).path("embedding"), data.get(2).path("embedding")) + 0.2);
            assertThat(json.readTree(r.body()).path("usage").path("prompt_tokens").asInt()).isGreaterThan(10);

            HttpResponse<String> b64 = calls.post(port, "/v1/embeddings", json.writeValueAsString(Map.of("model", MINILM,
                    "input", texts.get(0), "encoding_format", "base64")));
            byte[] raw = java.util.Base64.getDecoder().decode(json.readTree(b64.body()).path("data").get(0).path("embedding").asText());
            FloatBuffer fb = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            assertThat(fb.remaining()).isEqualTo(384);
            assertThat((double) fb.get(7)).isEqualTo(data.get(0).path("embedding").get(7).asDouble(), org.assertj.core.data.Offset.offset(1e-6));

            HttpResponse<String> completion = calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""");
            assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
            assertThat(json.readTree(completion.body()).path("usage").path("completion_tokens").asInt()).isEqualTo(8);

            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:stories260k\", \"input\": \"hi\"}"), 400, "model",
                    "generative");
            calls.assertError(calls.post(port, "/v1/completions", "{\"model\": \"builtin:minilm\", \"prompt\": \"hi\"}"), 400, "model",
                    "encoder");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:minilm\", \"input\": \"\"}"), 400, "input", "empty");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:minilm\"}"), 400, "input", "required");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:minilm\", \"input\": \""
                    + "word ".repeat(600) + "\"}"), 400, "input", "context of 512");
            calls.assertError(calls.post(port, "/v1/embeddings", json.writeValueAsString(Map.of("model", MINILM, "input",
                    java.util.Collections.nCopies(65, "x")))), 400, "input", "1 to 64");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:minilm\", \"input\": [[1, 99999999]]}"), 400,
                    "input", "token ids");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"builtin:minilm\", \"input\": \"x\", \"dimensions\": 8}"), 400,
                    "dimensions", "not supported");
            calls.assertError(calls.post(port, "/v1/embeddings", "{\"model\": \"nope\", \"input\": \"x\"}"), 404, "model", "does not exist");

            JsonNode cluster = json.readTree(calls.get(port, "/api/cluster").body());
            assertThat(cluster.path("nodes")).hasSize(2);
            assertThat(json.convertValue(cluster.path("nodes").get(0).path("ready_for"), List.class))
                    .containsExactly(MINILM, STORIES);
            JsonNode plan = json.readTree(calls.get(port, "/api/plan?model=" + STORIES).body());
            assertThat(plan.path("model").asText()).isEqualTo(STORIES);
            assertThat(plan.path("stages")).isNotEmpty();
            calls.assertError(calls.get(port, "/api/plan?model=nope"), 404, "model", "does not exist");
            JsonNode events = json.readTree(calls.get(port, "/api/events").body()).path("events");
            assertThat(events.findValuesAsText("model")).contains(MINILM, STORIES);
            // the decision log followed live: the drain below arrives as an event
            HttpResponse<java.util.stream.Stream<String>> follow = calls.http().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/api/events")).header("Accept", "text/event-stream").GET().build(),
                    HttpResponse.BodyHandlers.ofLines());
            assertThat(follow.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            java.util.concurrent.CompletableFuture<String> drainedEvent = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> follow.body().filter(l -> l.contains("\"node-draining\"")).findFirst().orElse(null));

            DashboardCheck page = DashboardCheck.open("http://127.0.0.1:" + port, List.of("gateway", "a", "b"),
                    List.of(MINILM, STORIES));
            String busy = minilm.currentPlan().getFirst().split(":")[0]; // a node the encoder runs on
            HttpResponse<String> drain = calls.post(port, "/api/nodes/" + busy + "/drain", "");
            assertThat(drain.statusCode()).as(drain.body()).isEqualTo(202);
            for (Orchestrator o : List.of(minilm, stories)) {
                assertThat(o.currentPlan()).as(o.modelName()).isNotEmpty().noneMatch(st -> st.startsWith(busy + ":"));
            }
            assertThat(minilm.decisions().entries("switch").getLast().get("trigger")).isEqualTo("node " + busy + " is being drained");
            assertThat(drainedEvent.get(30, java.util.concurrent.TimeUnit.SECONDS)).contains("\"node\":\"" + busy + "\"");
            follow.body().close();
            if (page != null) { // the dashboard shows the plan the drain forced
                try {
                    page.waitForPlan(String.join(" ", minilm.currentPlan()));
                    page.screenshot(java.nio.file.Path.of("target", "dashboard-after-drain.png"));
                } finally {
                    page.close();
                }
            }
            HttpResponse<String> again = calls.post(port, "/v1/embeddings", json.writeValueAsString(Map.of("model", MINILM, "input", texts.get(0))));
            assertThat(json.readTree(again.body()).path("data").get(0).path("embedding").get(5).asDouble())
                    .isEqualTo(data.get(0).path("embedding").get(5).asDouble());
            assertThat(json.readTree(calls.get(port, "/api/cluster").body()).path("nodes").findValues("drained"))
                    .extracting(JsonNode::asBoolean).containsExactlyInAnyOrder(true, false);
            assertThat(calls.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/nodes/" + busy + "/drain")).DELETE()
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            calls.assertError(calls.post(port, "/api/nodes/zz/drain", ""), 404, null, "no worker named 'zz'");

            HttpResponse<String> policy = calls.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/api/policy?model=" + MINILM)).PUT(HttpRequest.BodyPublishers.ofString("{\"objective\": \"energy\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(policy.statusCode()).as(policy.body()).isEqualTo(200);
            assertThat(minilm.policy().objective()).isEqualTo(Objective.ENERGY);
            assertThat(stories.policy().objective()).isEqualTo(Objective.THROUGHPUT);
            assertThat(minilm.decisions().entries("policy")).hasSize(1);
            assertThat(calls.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/policy"))
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"objective\": \"fastest\"}")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(400);

            HttpResponse<String> stats = calls.get(port, "/api/stats");
            assertThat(json.readTree(stats.body()).path("models").path(MINILM).path("recent").size()).isPositive();
            assertThat(calls.get(port, "/").body()).contains("<script src=\"/dashboard.js\">");

            // with API keys: nothing without one, nothing with a wrong one, and the key is never echoed
            String key = "sk-edgesplit-test-0123456789";
            try (HttpApi locked = HttpApi.start(List.of(minilm, stories), new HttpApi.Options(0, 8, Duration.ofMinutes(3),
                    Map.of(key, new HttpApi.ApiKey("tests", null))))) {
                calls.assertError(calls.get(locked.port(), "/v1/models"), 401, null, "needs an API key");
                assertThat(calls.get(locked.port(), "/").statusCode()).isEqualTo(200); // the page holds no data; its calls need the key
                HttpResponse<String> wrong = calls.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + locked.port()
                        + "/api/plan")).header("Authorization", "Bearer sk-wrong-key-0123456789").GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                calls.assertError(wrong, 401, null, "not valid");
                assertThat(wrong.body()).doesNotContain("sk-wrong");
                HttpResponse<String> right = calls.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + locked.port()
                        + "/v1/models")).header("Authorization", "Bearer " + key).GET().build(), HttpResponse.BodyHandlers.ofString());
                assertThat(right.statusCode()).isEqualTo(200);
                assertThat(new HttpApi.Options(0, 8, Duration.ofMinutes(3), Map.of(key, new HttpApi.ApiKey("tests", null))).toString()).doesNotContain(key);

                // a real OpenAI client library, with the key as its API key
                com.openai.client.OpenAIClient client = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                        .baseUrl("http://127.0.0.1:" + locked.port() + "/v1").apiKey(key).maxRetries(0).build();
                try {
                    assertThat(client.models().list().data()).extracting(com.openai.models.models.Model::id)
                            .containsExactly(MINILM, STORIES);
                    var params = com.openai.models.completions.CompletionCreateParams.builder().model(STORIES)
                            .prompt("Once upon a time").maxTokens(8).temperature(0.0).build();
                    String expected = json.readTree(completion.body()).path("choices").get(0).path("text").asText();
                    assertThat(client.completions().create(params).choices().getFirst().text()).isEqualTo(expected);
                    StringBuilder streamed = new StringBuilder();
                    try (var stream = client.completions().createStreaming(params)) {
                        stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
                    }
                    assertThat(streamed.toString()).isEqualTo(expected);
                    List<Float> e = client.embeddings().create(com.openai.models.embeddings.EmbeddingCreateParams.builder()
                            .model(MINILM).input(texts.get(0)).build()).data().getFirst().embedding();
                    assertThat(e).hasSize(384);
                    for (int d = 0; d < e.size(); d++) {
                        assertThat((double) e.get(d)).isCloseTo(data.get(0).path("embedding").get(d).asDouble(),
                                org.assertj.core.data.Offset.offset(1e-6));
                    }
                    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> client.completions().create(
                            com.openai.models.completions.CompletionCreateParams.builder().model("gpt-4").prompt("hi").build())))
                            .isInstanceOf(com.openai.errors.NotFoundException.class);
                } finally {
                    client.close();
                }
            }

            String metrics = calls.get(port, "/metrics").body();
            assertThat(metrics).contains("edgesplit_plan_epoch{model=\"builtin:minilm\"}", "edgesplit_plan_epoch{model=\"builtin:stories260k\"}",
                    "edgesplit_http_request_seconds_count{endpoint=\"embeddings\",model=\"builtin:minilm\"}");
        }
    }
}
