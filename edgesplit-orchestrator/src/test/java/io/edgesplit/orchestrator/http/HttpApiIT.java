package io.edgesplit.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.onnx.generate.Generator;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.orchestrator.Orchestrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.worker.WorkerProcess;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP surface on an orchestrator with two worker processes serving stories260K: completions
 * (whole and streamed) give the model's own greedy text, errors come in OpenAI's shape with the
 * right statuses, and the admin API and metrics answer.
 */
class HttpApiIT {
    private static final String MODEL = "builtin:stories260k";
    private final List<WorkerProcess> processes = new ArrayList<>();
    private final ApiCalls calls = new ApiCalls();
    private final ObjectMapper json = new ObjectMapper();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    private static String localGreedy(Orchestrator o, String prompt, int tokens) {
        try (Tokenizer tok = o.model().model().tokenizer().open(); LocalPipeline whole = LocalPipeline.whole(o.model())) {
            int[] ids = tok.encode(prompt);
            TextStream text = new TextStream(tok, ids[ids.length - 1]);
            StringBuilder sb = new StringBuilder();
            Generator.forModel(o.model(), whole).generate(new Generator.Request("local", ids, Sampling.greedy(), tokens,
                    tok.stopTokens(), t -> sb.append(text.add(t))));
            return sb.toString();
        }
    }

    @Test
    void completionsStreamingErrorsAdminAndMetrics() throws Exception {
        OrchestratorConfig config = OrchestratorConfig.defaults(MODEL, Policy.of(Objective.THROUGHPUT)).withMinWorkers(2)
                .withTiming(Duration.ofMillis(200), Duration.ofMillis(3000), Duration.ofMillis(500));
        try (Orchestrator o = Orchestrator.start(config, "127.0.0.1", 0, 0);
                HttpApi api = HttpApi.start(o, new HttpApi.Options(0, 8, Duration.ofMinutes(3)))) {
            for (String name : List.of("a", "b")) {
                processes.add(WorkerProcess.start(name, "edge", 1, 1.0, "127.0.0.1:" + o.controlPort(), 0));
            }
            int port = api.port();
            String expected = localGreedy(o, "Once upon a time", 40);

            HttpResponse<String> models = calls.get(port, "/v1/models");
            assertThat(models.statusCode()).isEqualTo(200);
            assertThat(json.readTree(models.body()).path("data").get(0).path("id").asText()).isEqualTo(MODEL);

            HttpResponse<String> whole = calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "Once upon a time", "max_tokens": 40, "temperature": 0}""");
            assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
            JsonNode c = json.readTree(whole.body());
            assertThat(c.path("object").asText()).isEqualTo("text_completion");
            assertThat(c.path("choices").get(0).path("text").asText()).isEqualTo(expected);
            assertThat(c.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
            assertThat(c.path("usage").path("completion_tokens").asInt()).isEqualTo(40);

            HttpResponse<String> streamed = calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "Once upon a time", "max_tokens": 40, "temperature": 0,
                     "stream": true}""");
            assertThat(streamed.statusCode()).isEqualTo(200);
            assertThat(streamed.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            StringBuilder text = new StringBuilder();
            List<String> events = streamed.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
            assertThat(events.getLast()).isEqualTo("[DONE]");
            assertThat(events).hasSizeGreaterThan(40); // a chunk per token, the last chunk, [DONE]
            for (String e : events.subList(0, events.size() - 1)) {
                text.append(json.readTree(e).path("choices").get(0).path("text").asText());
            }
            assertThat(text.toString()).isEqualTo(expected);
            assertThat(json.readTree(events.get(events.size() - 2)).path("choices").get(0).path("finish_reason").asText())
                    .isEqualTo("length");

            calls.assertError(calls.post(port, "/v1/completions", "{not json"), 400, null, "malformed JSON");
            calls.assertError(calls.post(port, "/v1/completions", """
                    {"model": "gpt-4", "prompt": "hi"}"""), 404, "model", "does not exist");
            calls.assertError(calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "hi", "max_tokens": 0}"""), 400, "max_tokens", "between 1 and");
            calls.assertError(calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "hi", "logprobs": 3}"""), 400, "logprobs", "not supported");
            calls.assertError(calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "hi", "colour": "blue"}"""), 400, "colour", "unknown parameter");
            calls.assertError(calls.post(port, "/v1/completions", """
                    {"model": "builtin:stories260k", "prompt": "hi", "temperature": "hot"}"""), 400, "temperature", "number");
            calls.assertError(calls.post(port, "/v1/completions", "{\"model\": \"builtin:stories260k\", \"prompt\": \""
                    + "once upon a time ".repeat(200) + "\", \"max_tokens\": 10}"), 400, "prompt", "context");
            calls.assertError(calls.post(port, "/v1/completions", "{\"prompt\": \"" + "x".repeat(2 << 20) + "\"}"), 413, null, "");
            calls.assertError(calls.get(port, "/v1/nothing"), 404, null, "not found");

            HttpResponse<String> plan = calls.get(port, "/api/plan");
            assertThat(plan.statusCode()).isEqualTo(200);
            JsonNode p = json.readTree(plan.body());
            assertThat(p.path("epoch").asLong()).isPositive();
            assertThat(p.path("stages")).isNotEmpty();
            HttpResponse<String> cluster = calls.get(port, "/api/cluster");
            assertThat(json.readTree(cluster.body()).path("nodes")).hasSize(2);
            HttpResponse<String> events2 = calls.get(port, "/api/events");
            assertThat(json.readTree(events2.body()).path("events").findValuesAsText("kind")).contains("initial", "node-joined");
            HttpResponse<String> replan = calls.post(port, "/api/replan", "");
            assertThat(replan.statusCode()).isEqualTo(202);

            HttpResponse<String> metrics = calls.get(port, "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("edgesplit_time_to_first_token_seconds_count{model=\"builtin:stories260k\"} 2",
                    "edgesplit_time_per_output_token_seconds_count{model=\"builtin:stories260k\"} 2", "edgesplit_plan_epoch", "edgesplit_workers_ready 2.0",
                    "edgesplit_rejected_requests_total{reason=\"invalid_parameter\"}", "edgesplit_http_request_seconds_bucket",
                    "edgesplit_stage_compute_seconds_total{blocks=", "edgesplit_stage_runs_total{", "edgesplit_worker_queue_depth{node=\"a\"}",
                    "edgesplit_link_sent_bytes_total{from=");
            PromTool.Result lint = PromTool.check(metrics.body());
            if (lint != null) {
                assertThat(lint.exitCode()).as("promtool check metrics:\n" + lint.output()).isZero();
            }
        }
    }
}
