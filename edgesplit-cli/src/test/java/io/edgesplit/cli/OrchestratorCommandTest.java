package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.orchestrator.Migrator;
import io.edgesplit.orchestrator.OrchestratorConfig;
import io.edgesplit.orchestrator.http.HttpApi;
import java.util.List;
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
        assertThat(read).containsEntry("sk-ops-0123456789abcdef", new HttpApi.ApiKey("ops", null))
                .containsEntry(System.getenv("HOME"), new HttpApi.ApiKey("home", null));

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

    @Test
    void oneFileServesSeveralModelsWithTheirPoliciesPrivacyClassesAndKeys() throws Exception {
        String whole = Files.readString(Path.of("../examples/edgesplit.yaml"))
                .replace("key-env: OPS_KEY", "key: sk-ops-0123456789abcdef")
                .replace("key-env: CAMERA_APP_KEY", "key: sk-camera-0123456789abcdef");
        Path file = dir.resolve("edgesplit.yaml");
        Files.writeString(file, whole);
        ClusterFile read = ClusterFile.read(file);
        List<OrchestratorConfig> configs = OrchestratorCommand.configs(read, null);
        assertThat(configs).extracting(OrchestratorConfig::model).containsExactly("builtin:minilm", "builtin:stories260k");
        assertThat(configs).extracting(c -> c.policy().objective()).containsExactly(Objective.LATENCY, Objective.THROUGHPUT);
        assertThat(configs.getFirst().privacyClasses()).containsOnlyKeys("restricted", "internal");
        assertThat(configs.getFirst().privacyClasses().get("restricted").allowedZones()).containsExactly("trusted");
        assertThat(configs).extracting(c -> c.decisionLog().getFileName().toString())
                .containsExactly("decisions-builtin_minilm.jsonl", "decisions-builtin_stories260k.jsonl");
        assertThat(OrchestratorCommand.apiKeys(read)).containsEntry("sk-camera-0123456789abcdef",
                new HttpApi.ApiKey("door-camera-app", "restricted")).containsEntry("sk-ops-0123456789abcdef",
                new HttpApi.ApiKey("operations", null));
        assertThat(OrchestratorCommand.configs(read, "builtin:minilm")).singleElement()
                .satisfies(c -> assertThat(c.model()).isEqualTo("builtin:minilm"));

        // each mistake named by its path, with what was expected
        String[][] bad = {
            {"privacy-class: restricted}", "privacy-class: secret}", "orchestrator.api-keys[1].privacy-class: unknown privacy class 'secret'"},
            {"heartbeat-ms: 200", "heartbeat-ms: often", "orchestrator.heartbeat-ms: must be a number, not 'often'"},
            {"policy: {objective: throughput}}", "policy: {objective: throughput, slo: 3}}", "orchestrator.models[1].policy: unknown field 'slo'"},
            {"    - builtin:minilm\n", "    - builtin:minilm\n    - builtin:minilm\n", "listed twice"},
            {"  models:\n", "  model: builtin:minilm\n  models:\n", "give 'model' or 'models', not both"},
            {"{model: builtin:stories260k,", "{modle: builtin:stories260k,", "orchestrator.models[1]: unknown field 'modle'"},
            {"  min-workers: 3", "  min-workers: [3]", "orchestrator.min-workers: must be a number"},
        };
        for (String[] b : bad) {
            Path f = dir.resolve("bad.yaml");
            Files.writeString(f, whole.replace(b[0], b[1]));
            Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> {
                ClusterFile c = ClusterFile.read(f);
                OrchestratorCommand.configs(c, null);
                OrchestratorCommand.apiKeys(c);
            });
            assertThat(t).as(b[1]).isNotNull().hasMessageContaining(b[2]).hasMessageContaining("bad.yaml");
        }
    }
}
