package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.worker.WorkerProcess;
import org.junit.jupiter.api.Test;

/** Generation with its stages on two worker processes prints what the model prints in one process. */
class RemoteGenerateTest {

    @Test
    void stories260kOnTwoWorkerProcessesGivesTheSameText() throws Exception {
        CliTest.Run local = run("generate", "builtin:stories260k", "--max-tokens", "60", "--temperature", "0");
        assertThat(local.code()).as(local.err()).isZero();
        try (WorkerProcess a = WorkerProcess.start("alpha", "edge", 1);
                WorkerProcess b = WorkerProcess.start("beta", "edge", 1)) {
            CliTest.Run remote = run("generate", "builtin:stories260k", "--max-tokens", "60", "--temperature", "0",
                    "--split-after", "2", "--workers", a.address() + "," + b.address());
            assertThat(remote.code()).as(remote.err()).isZero();
            assertThat(remote.out()).isEqualTo(local.out()).contains("Once upon a time");
            java.nio.file.Path plan = java.nio.file.Files.createTempFile("plan", ".json");
            try {
                java.nio.file.Files.writeString(plan, """
                        {"plan": [{"node": "alpha", "first_block": 0, "last_block": 3, "threads": 1, "replicas": 1},
                                  {"node": "beta", "first_block": 4, "last_block": 6, "threads": 1, "replicas": 1}]}
                        """);
                CliTest.Run planned = run("generate", "builtin:stories260k", "--max-tokens", "60", "--temperature", "0",
                        "--plan", plan.toString(), "--worker", "alpha=" + a.address(), "--worker", "beta=" + b.address());
                assertThat(planned.code()).as(planned.err()).isZero();
                assertThat(planned.out()).isEqualTo(local.out());
                CliTest.Run unknown = run("generate", "builtin:stories260k", "--plan", plan.toString(),
                        "--worker", "alpha=" + a.address());
                assertThat(unknown.err()).contains("node 'beta'", "--worker beta=HOST:PORT");
            } finally {
                java.nio.file.Files.deleteIfExists(plan);
            }
            CliTest.Run wrongCount = run("generate", "builtin:stories260k", "--split-after", "1,2", "--workers", a.address());
            assertThat(wrongCount.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
            assertThat(wrongCount.err()).contains("1 workers for 3 stages");
        }
    }
}
