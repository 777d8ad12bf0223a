package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.orchestrator.Migrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The orchestrator's configuration: from the example, and bad input named. */
class OrchestratorCommandTest {
    @TempDir
    Path dir;

    @Test
    void theExampleConfigurationReadsAsWritten() {
        OrchestratorConfig c = OrchestratorCommand.config(ClusterFile.read(Path.of("../examples/orchestrator-local.yaml")), null);
        assertThat(c.model()).isEqualTo("builtin:stories260k");
        assertThat(c.policy().objective()).isEqualTo(Objective.THROUGHPUT);
        assertThat(c.minWorkers()).isEqualTo(3);
        assertThat(c.deadAfter().toMillis()).isEqualTo(1500);
        assertThat(c.maxSwitchesPerMinute()).isEqualTo(6);
        assertThat(c.method()).isEqualTo(Migrator.Method.PRECOPY);
        assertThat(c.link("b", "a").bandwidthBytesPerS()).isEqualTo(125e6);
        assertThat(c.nodes()).containsOnlyKeys("a", "b", "c");
    }

    @Test
    void badConfigurationsAreRefusedWithTheFieldNamed() throws Exception {
        String base = Files.readString(Path.of("../examples/orchestrator-local.yaml"));
        Path typo = dir.resolve("typo.yaml");
        Files.writeString(typo, base.replace("  min-workers: 3", "  min-wrokers: 3"));
        CliTest.Run r = run("orchestrator", "--config", typo.toString(), "--port", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("min-wrokers");

        Path noModel = dir.resolve("nomodel.yaml");
        Files.writeString(noModel, base.replace("  model: builtin:stories260k\n", ""));
        r = run("orchestrator", "--config", noModel.toString(), "--port", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no model");

        Path method = dir.resolve("method.yaml");
        Files.writeString(method, base.replace("method: precopy", "method: teleport"));
        r = run("orchestrator", "--config", method.toString(), "--port", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("method").contains("precopy, stop-and-copy or replay");

        Path valid = dir.resolve("valid.yaml");
        Files.writeString(valid, base);
        r = run("orchestrator", "--config", valid.toString(), "--model", "builtin:nonesuch", "--port", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("nonesuch");
    }

    @Test
    void apiKeysAreReadFromTheFileOrTheEnvironmentAndNeverShown() throws Exception {
        String base = Files.readString(Path.of("../examples/orchestrator-local.yaml"));
        Path keys = dir.resolve("keys.yaml");
        Files.writeString(keys, base.replace("  model: builtin:stories260k\n", "  model: builtin:stories260k\n  api-keys:\n"
                + "    - {name: ops, key: sk-ops-0123456789abcdef}\n    - {name: home, key-env: HOME}\n"));
        var read = OrchestratorCommand.apiKeys(ClusterFile.read(keys));
        assertThat(read).containsEntry("sk-ops-0123456789abcdef", "ops").containsEntry(System.getenv("HOME"), "home");

        Path both = dir.resolve("both.yaml");
        Files.writeString(both, base.replace("  model: builtin:stories260k\n", "  model: builtin:stories260k\n  api-keys:\n"
                + "    - {name: ops, key: sk-ops-0123456789abcdef, key-env: HOME}\n"));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> OrchestratorCommand.apiKeys(ClusterFile.read(both))))
                .hasMessageContaining("one of 'key' and 'key-env'");
        Path same = dir.resolve("same.yaml");
        Files.writeString(same, base.replace("  model: builtin:stories260k\n", "  model: builtin:stories260k\n  api-keys:\n"
                + "    - {name: a, key: sk-same-0123456789abcdef}\n    - {name: b, key: sk-same-0123456789abcdef}\n"));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> OrchestratorCommand.apiKeys(ClusterFile.read(same))))
                .hasMessageContaining("the same").hasMessageNotContaining("sk-same");
    }
}
