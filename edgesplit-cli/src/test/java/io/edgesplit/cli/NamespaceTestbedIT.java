package io.edgesplit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The network-namespace testbed (root on Linux only; skipped elsewhere): {@code testbed/loadgen.sh}
 * brings up one namespace per node with tc tbf shaping and cgroup CPU quotas, runs a loadgen
 * scenario against the orchestrator's HTTP API, and tears everything down again.
 */
class NamespaceTestbedIT {

    private static boolean can(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static String namespaces() throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(20, TimeUnit.SECONDS);
        return out;
    }

    @Test
    void loadgenRunsAgainstWorkersInNetworkNamespacesAndTheTestbedIsGoneAfterwards() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.isDirectory(Path.of("/sys/fs/cgroup/cpu"))
                && can("ip", "netns", "list") && can("tc", "-V") && can("curl", "--version"),
                "needs root, ip netns, tc, curl and the cgroup v1 cpu controller");
        assumeTrue(!namespaces().contains("es-"), "a testbed is already up on this machine");
        Path out = Path.of("target/testbed-loadgen.json").toAbsolutePath();
        Files.deleteIfExists(out);
        Process p = new ProcessBuilder("../testbed/loadgen.sh", out.toString(), "--", "--scenario", "single-stream",
                "--min-duration-s", "3", "--min-queries", "20").redirectErrorStream(true)
                .redirectOutput(Path.of("target/testbed-loadgen.log").toFile()).start();
        boolean done = p.waitFor(6, TimeUnit.MINUTES);
        String log = Files.readString(Path.of("target/testbed-loadgen.log"));
        if (!done) {
            p.destroyForcibly();
            new ProcessBuilder("../testbed/down.sh").start().waitFor(60, TimeUnit.SECONDS);
        }
        assertThat(done).as(log).isTrue();
        assertThat(p.exitValue()).as(log).isZero();
        assertThat(log).contains("in namespace es-camera at 10.78.0.10", "(tc tbf)", "testbed: down");

        JsonNode r = Json.MAPPER.readTree(out.toFile());
        assertThat(r.path("emulated").asText()).startsWith("testbed: ").contains("network namespace", "tc tbf", "cgroup");
        assertThat(r.path("scenario").asText()).isEqualTo("single-stream");
        assertThat(r.path("queries").asLong()).isGreaterThanOrEqualTo(20);
        assertThat(r.path("failed_samples").asLong()).isZero();
        List<String> plan = Json.MAPPER.convertValue(r.path("plan"), Json.MAPPER.getTypeFactory()
                .constructCollectionType(List.class, String.class));
        assertThat(plan).as("served by the testbed's hosts").isNotEmpty()
                .allMatch(stage -> Set.of("camera", "jetson", "edge-server").contains(stage.substring(0, stage.indexOf(':'))));
        assertThat(namespaces()).doesNotContain("es-");
        assertThat(Path.of("/sys/fs/cgroup/cpu/es-camera")).doesNotExist();
    }
}
