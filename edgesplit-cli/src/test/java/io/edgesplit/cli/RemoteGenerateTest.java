package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.worker.WorkerProcess;
import org.junit.jupiter.api.Test;

/** Generation with its stages on two worker processes prints what the model prints in one process. */
class RemoteGenerateTest {

    @Test
    void stories260kOnTwoWorkerProcessesGivesTheSameText() {
        CliTest.Run local = run("generate", "builtin:stories260k", "--max-tokens", "60", "--temperature", "0");
        assertThat(local.code()).as(local.err()).isZero();
        try (WorkerProcess a = WorkerProcess.start("alpha", "edge", 1);
                WorkerProcess b = WorkerProcess.start("beta", "edge", 1)) {
            CliTest.Run remote = run("generate", "builtin:stories260k", "--max-tokens", "60", "--temperature", "0",
                    "--split-after", "2", "--workers", a.address() + "," + b.address());
            assertThat(remote.code()).as(remote.err()).isZero();
            assertThat(remote.out()).isEqualTo(local.out()).contains("Once upon a time");
            CliTest.Run wrongCount = run("generate", "builtin:stories260k", "--split-after", "1,2", "--workers", a.address());
            assertThat(wrongCount.code()).isEqualTo(EdgeSplitCli.USER_ERROR);
            assertThat(wrongCount.err()).contains("1 workers for 3 stages");
        }
    }
}
