package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgesplit.worker.Gateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cluster up} starts a worker process per node with its emulated speed and links; {@code down} stops them. */
class ClusterCommandTest {

    @Test
    void upStartsEveryNodeAsAProcessWithItsEmulatedProfileAndDownStopsThem(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("site.yaml");
        Files.writeString(config, """
                name: two-nodes
                nodes:
                  - {name: slow, zone: trusted, memory: 1GiB, profile: measure, speed: 0.5}
                  - {name: fast, zone: edge, memory: 1GiB, profile: measure}
                links:
                  - {from: gateway, to: slow, bandwidth: 100Mbit, latency-ms: 1}
                  - {from: slow, to: fast, bandwidth: 50Mbit, latency-ms: 2}
                """);
        Path state = dir.resolve("state");
        CliTest.Run up = run("cluster", "up", "--config", config.toString(), "--base-port", "0", "--state", state.toString(),
                "--heap", "512m", "--json");
        List<ProcessHandle> processes = new ArrayList<>();
        try {
            assertThat(up.code()).as(up.err()).isZero();
            JsonNode root = Json.MAPPER.readTree(up.out());
            assertThat(root.path("workers")).hasSize(2);
            for (JsonNode w : root.path("workers")) {
                processes.add(ProcessHandle.of(w.path("pid").asLong()).orElseThrow());
            }
            assertThat(processes).allMatch(ProcessHandle::isAlive);
            try (Gateway g = Gateway.start("127.0.0.1", 0)) {
                var slow = g.telemetry(root.path("workers").get(0).path("address").asText());
                assertThat(slow.getNode()).isEqualTo("slow");
                assertThat(slow.getZone()).isEqualTo("trusted");
                assertThat(slow.getEmulated()).isTrue();
                assertThat(slow.getEmulatedSpeed()).isEqualTo(0.5);
                assertThat(slow.getEmulatedLinksToList()).containsExactly("fast", "gateway"); // links go both ways
                var fast = g.telemetry(root.path("workers").get(1).path("address").asText());
                assertThat(fast.getEmulatedSpeed()).isEqualTo(1.0);
                assertThat(fast.getEmulatedLinksToList()).containsExactly("slow");
            }
            CliTest.Run status = run("cluster", "status", "--state", state.toString());
            assertThat(status.code()).as(status.err()).isZero();
            assertThat(status.out()).contains("slow").contains("up, 0 steps, EMULATED");

            CliTest.Run twice = run("cluster", "up", "--config", config.toString(), "--base-port", "0", "--state", state.toString());
            assertThat(twice.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
            assertThat(twice.err()).contains("already up");

            CliTest.Run down = run("cluster", "down", "--state", state.toString());
            assertThat(down.code()).as(down.err()).isZero();
            assertThat(down.out()).contains("2 of 2 workers were running");
            for (ProcessHandle p : processes) {
                assertThat(p.onExit()).succeedsWithin(java.time.Duration.ofSeconds(20));
            }
            assertThat(Files.exists(state.resolve("cluster.json"))).isFalse();
            assertThat(run("cluster", "down", "--state", state.toString()).err()).contains("no cluster is up here");
        } finally {
            processes.forEach(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void aSpeedThisMachineCannotEmulateIsRefusedBeforeAnythingStarts(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("site.yaml");
        Files.writeString(config, """
                nodes:
                  - {name: rocket, memory: 1GiB, profile: measure, speed: 3}
                """);
        CliTest.Run up = run("cluster", "up", "--config", config.toString(), "--state", dir.resolve("s").toString());
        assertThat(up.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
        assertThat(up.err()).contains("rocket").contains("speed 3.0");
        assertThat(Files.exists(dir.resolve("s").resolve("cluster.json"))).isFalse();
    }

    @Test
    void hostsListsEachNodeForTheTestbedWithItsQuotaAndTheRatesOfItsLinkToTheSource(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("site.yaml");
        Files.writeString(config, """
                name: two-nodes
                nodes:
                  - {name: slow, zone: trusted, cores: 1, memory: 1GiB, profile: measure, speed: 0.5}
                  - {name: fast, zone: edge, cores: 64, memory: 1GiB, profile: measure}
                links:
                  - {from: gateway, to: slow, bandwidth: 100Mbit, latency-ms: 1}
                  - {from: slow, to: fast, bandwidth: 50Mbit, latency-ms: 2}
                """);
        CliTest.Run hosts = run("cluster", "hosts", "--config", config.toString());
        assertThat(hosts.code()).as(hosts.err()).isZero();
        int cores = Math.min(64, Runtime.getRuntime().availableProcessors());
        assertThat(hosts.out().lines().toList()).containsExactly("slow\ttrusted\t1\t0.500\t100000000\t100000000",
                "fast\tedge\t" + cores + "\t1.000\t0\t0"); // fast has no link to the gateway
    }
}
