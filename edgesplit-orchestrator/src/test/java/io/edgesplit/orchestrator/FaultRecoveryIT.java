package io.edgesplit.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.worker.WorkerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Required result 2 of the orchestrator issue: a worker killed with SIGKILL in the middle of
 * generation; every sequence completes with the text it has without the failure (replayed from
 * its token log on the workers left); the worker comes back, rejoins, and is used again.
 */
class FaultRecoveryIT {
    private final List<WorkerProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    private WorkerProcess worker(String name, Orchestrator o) {
        WorkerProcess p = WorkerProcess.start(name, "edge", 1, 1.0, "127.0.0.1:" + o.controlPort(), 0);
        processes.add(p);
        return p;
    }

    @Test
    void aKilledWorkersSequencesCompleteIdenticallyAndItIsUsedAgainWhenItRejoins() throws Exception {
        OrchestratorConfig config = OrchestratorConfig.defaults(LiveMigrationIT.MODEL, Policy.of(Objective.THROUGHPUT))
                .withMinWorkers(3).withTiming(Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250))
                .withDecisionLog(java.nio.file.Path.of("target/fault-recovery-decisions.jsonl"));
        try (Orchestrator o = Orchestrator.start(config, "127.0.0.1", 0, 0)) {
            Map<String, WorkerProcess> workers = new java.util.LinkedHashMap<>();
            for (String name : List.of("a", "b", "c")) {
                workers.put(name, worker(name, o));
            }
            Decoding d = o.decoding(Duration.ofMinutes(3));
            assertThat(o.currentPlan()).as("throughput plans use every worker").hasSize(3);
            var requests = LiveMigrationIT.requests(8, 300);
            Map<String, int[]> expected = LiveMigrationIT.run(d, requests, () -> { });

            AtomicLong tokens = new AtomicLong();
            AtomicLong killedAt = new AtomicLong();
            Map<String, Long> lastToken = new java.util.concurrent.ConcurrentHashMap<>();
            AtomicLong longestPause = new AtomicLong();
            d.sink((seq, t) -> {
                tokens.incrementAndGet();
                long now = System.nanoTime();
                Long last = lastToken.put(seq, now);
                if (last != null) {
                    longestPause.accumulateAndGet(now - last, Math::max);
                }
            });
            String victim = o.currentPlan().get(1).split(":")[0];
            Map<String, int[]> got = LiveMigrationIT.run(d, requests, () -> {
                await().atMost(Duration.ofMinutes(2)).until(() -> tokens.get() >= 8 * 60);
                killedAt.set(System.nanoTime());
                workers.get(victim).kill();
            });
            assertThat(got).containsOnlyKeys(expected.keySet());
            for (String id : expected.keySet()) {
                assertThat(got.get(id)).as(id).containsExactly(expected.get(id));
            }
            assertThat(d.replayedSteps()).isPositive();
            assertThat(d.replayMismatches()).isZero();
            List<Map<String, Object>> recoveries = o.decisions().entries("recover");
            assertThat(recoveries).hasSize(1);
            assertThat(o.decisions().entries("node-dead")).anySatisfy(e -> assertThat(e.get("node")).isEqualTo(victim));
            assertThat(o.currentPlan()).noneMatch(s -> s.startsWith(victim + ":"));
            System.out.printf("fault recovery: recovery_ms %s (detection to new route); longest pause of a sequence "
                    + "between two tokens %.0f ms (failure, recovery and replay from its log)%n",
                    recoveries.getFirst().get("recovery_ms"), longestPause.get() / 1e6);

            // it comes back under the same name and is used again
            worker(victim, o);
            await().atMost(Duration.ofMinutes(2)).until(() -> o.currentPlan().stream().anyMatch(s -> s.startsWith(victim + ":")));
            assertThat(o.decisions().entries("switch")).anySatisfy(e ->
                    assertThat((String) e.get("trigger")).contains("node " + victim + " is available"));
            assertThat(LiveMigrationIT.run(d, requests.subList(0, 2), () -> { })).allSatisfy((id, t) ->
                    assertThat(t).containsExactly(expected.get(id)));
        }
    }
}
