package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCommandTest {
    @TempDir
    Path dir;

    /** Three analytic (emulated) nodes, so the test does not depend on this machine's speed. */
    private static final String CLUSTER = """
            name: test-site
            source: gateway
            nodes:
              - {name: cam, zone: trusted, cores: 1, memory: 64MiB, gflops: 5, power: {idle-watts: 1, busy-watts: 4}}
              - {name: box, zone: trusted, cores: 2, memory: 1GiB, gflops: {1: 20, 2: 36}, power: {idle-watts: 10, busy-watts: 40}}
              - {name: far, zone: cloud, cores: 2, memory: 8GiB, gflops: {1: 80, 2: 150}, cost-per-hour: 2}
            links:
              - {from: gateway, to: cam, bandwidth: 1Gbit, latency-ms: 0.1}
              - {from: gateway, to: box, bandwidth: 100Mbit, latency-ms: 1}
              - {from: gateway, to: far, bandwidth: 10Mbit, latency-ms: 30}
              - {from: cam, to: box, bandwidth: 100Mbit, latency-ms: 1}
              - {from: cam, to: far, bandwidth: 10Mbit, latency-ms: 30}
              - {from: box, to: far, bandwidth: 50Mbit, latency-ms: 20}
            privacy-classes:
              restricted: [trusted]
            """;

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void planJsonFollowsTheContractWithEveryBaseline() throws Exception {
        Path c = write("cluster.yaml", CLUSTER);
        CliTest.Run r = run("plan", "--cluster", c.toString(), "--model", "builtin:minilm", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("emulated_nodes")).hasSize(3);
        JsonNode plan = j.get("plan");
        assertThat(plan.size()).isPositive();
        assertThat(plan.get(0).get("first_block").asInt()).isZero();
        assertThat(plan.get(plan.size() - 1).get("last_block").asInt()).isEqualTo(6);
        for (JsonNode s : plan) {
            assertThat(s.has("node") && s.has("threads") && s.has("replicas")).isTrue();
        }
        JsonNode predicted = j.get("predicted");
        assertThat(predicted.get("latency_ms").asDouble()).isPositive();
        assertThat(predicted.has("throughput_rps") && predicted.has("energy_j") && predicted.has("cost")).isTrue();
        assertThat(j.get("baselines").fieldNames()).toIterable()
                .containsExactly("single-node", "neurosurgeon", "memory-proportional", "equal-split", "petals");
        for (JsonNode b : j.get("baselines")) {
            if (!b.isNull()) {
                assertThat(b.get("latency_ms").asDouble()).isGreaterThanOrEqualTo(predicted.get("latency_ms").asDouble() * (1 - 1e-9));
            }
        }
    }

    @Test
    void aRestrictedRequestStaysInItsZones() throws Exception {
        Path c = write("cluster.yaml", CLUSTER);
        CliTest.Run r = run("plan", "--cluster", c.toString(), "--model", "builtin:minilm", "--privacy-class", "restricted",
                "--objective", "throughput", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        for (JsonNode s : r.json().get("plan")) {
            assertThat(s.get("node").asText()).isIn("cam", "box");
        }
    }

    @Test
    void anInfeasiblePlanNamesTheConstraint() throws Exception {
        Path c = write("cluster.yaml", CLUSTER);
        CliTest.Run r = run("plan", "--cluster", c.toString(), "--model", "builtin:minilm", "--slo-ms", "0.01");
        assertThat(r.code()).isEqualTo(EdgeSplitCli.CHECK_FAILED);
        assertThat(r.out()).contains("no plan: [latency-slo]");
    }

    private CliTest.Run planWith(String cluster) throws Exception {
        return run("plan", "--cluster", write("bad.yaml", cluster).toString(), "--model", "builtin:minilm");
    }

    @Test
    void clusterFileErrorsNameTheField() throws Exception {
        assertThat(planWith(CLUSTER.replace("to: far, bandwidth: 50Mbit", "to: ghost, bandwidth: 50Mbit")).err())
                .contains("CONFIG_INVALID", "links[5].to", "unknown node 'ghost'");
        assertThat(planWith(CLUSTER.replace("bandwidth: 50Mbit", "bandwidth: 0")).err())
                .contains("links[5].bandwidth", "must be > 0");
        assertThat(planWith(CLUSTER.replace("bandwidth: 50Mbit", "bandwidth: -3")).err())
                .contains("links[5].bandwidth", "must be > 0");
        assertThat(planWith(CLUSTER.replace(", gflops: 5,", ",")).err())
                .contains("nodes[0]", "needs exactly one of 'profile'");
        assertThat(planWith(CLUSTER.replace("restricted: [trusted]", "restricted: [hospital]")).err())
                .contains("privacy-classes.restricted[0]", "zone 'hospital' is unknown");
        assertThat(planWith(CLUSTER + "policy: {objective: fastest}\n").err())
                .contains("policy.objective", "'fastest' does not exist");
        assertThat(planWith(CLUSTER + "policy: {objective: latency, weights: {energy-per-joule: 1}}\n").err())
                .contains("policy.weights", "'weighted' only");
        assertThat(planWith(CLUSTER + "policy: {latency-slo-ms: -5}\n").err())
                .contains("policy.latency-slo-ms", "must be > 0");
        assertThat(planWith(CLUSTER + "surprise: 1\n").err()).contains("unknown field 'surprise'");
        assertThat(planWith("nodes: [").err()).contains("not valid YAML");
        CliTest.Run missing = run("plan", "--cluster", dir.resolve("nope.yaml").toString(), "--model", "builtin:minilm");
        assertThat(missing.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(missing.err()).contains("does not exist");
        Path profile = write("p.json", "{\"model\": \"m\", \"units_per_request\": 32, \"threads\": [{\"threads\": 1, \"block_ms\": [1, 2]}]}");
        assertThat(planWith(CLUSTER.replace("gflops: 5,", "profile: " + profile.getFileName() + ",")).err())
                .contains("block_ms", "times for 2 blocks");
    }

    @Test
    void profileJsonHasTimesForEveryBlockAndThreadCount() throws Exception {
        Path node = write("node.yaml", "name: slow-cam\nzone: trusted\ncores: 1\nmemory: 256MiB\nspeed: 0.5\n");
        Path out = dir.resolve("profile.json");
        CliTest.Run r = run("profile", "--model", "builtin:minilm", "--node-profile", node.toString(), "--iterations", "3",
                "--warmup", "1", "--sequence", "8", "--out", out.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("emulated").asBoolean()).isTrue();
        assertThat(j.get("node").get("name").asText()).isEqualTo("slow-cam");
        assertThat(j.get("units_per_request").asInt()).isEqualTo(8);
        assertThat(j.get("threads")).hasSize(1);
        assertThat(j.get("threads").get(0).get("block_ms")).hasSize(7);
        // the written profile feeds a cluster file
        Path c = write("cluster.yaml", CLUSTER.replace("gflops: 5,", "profile: profile.json,"));
        CliTest.Run plan = run("plan", "--cluster", c.toString(), "--model", "builtin:minilm", "--sequence", "8", "--json");
        assertThat(plan.code()).as(plan.err()).isZero();
        CliTest.Run mismatch = run("plan", "--cluster", c.toString(), "--model", "builtin:minilm", "--json");
        assertThat(mismatch.err()).contains("measured at 8 units per request");
    }

    @Test
    void plannerBenchChecksOptimality() throws Exception {
        CliTest.Run r = run("bench", "planner", "--blocks", "12", "--nodes", "4", "--problems", "1", "--check-instances", "60",
                "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("instances").asInt()).isEqualTo(60);
        assertThat(j.get("mismatches").asInt()).isZero();
        assertThat(j.get("grid")).hasSize(2);
    }
}
