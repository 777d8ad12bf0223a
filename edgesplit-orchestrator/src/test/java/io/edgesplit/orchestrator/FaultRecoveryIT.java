package io.edgesplit.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.worker.WorkerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
            Map<String, WorkerProcess> workers = new LinkedHashMap<>();
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

            // it comes back under the same name and is used again, while sequences keep decoding: with no
            // traffic no move pays for itself over the horizon and the plan is rightly kept (a CI run whose
            // worker took long to rejoin saw the step rate decay to 0 first and waited out the 2 minutes)
            worker(victim, o);
            Map<CompletableFuture<Decoding.Result>, String> traffic = new LinkedHashMap<>();
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> {
                for (long running = traffic.keySet().stream().filter(f -> !f.isDone()).count(); running < 2; running++) {
                    Decoding.Request r = requests.get(traffic.size() % requests.size());
                    traffic.put(d.start(new Decoding.Request(r.id() + "-rejoin" + traffic.size(), r.prompt(), r.sampling(),
                            r.maxTokens(), r.stops(), r.privacy())), r.id());
                }
                return o.currentPlan().stream().anyMatch(s -> s.startsWith(victim + ":"));
            });
            for (var e : traffic.entrySet()) {
                assertThat(e.getKey().get(5, TimeUnit.MINUTES).tokens()).as(e.getValue() + " while the worker rejoined")
                        .containsExactly(expected.get(e.getValue()));
            }
            assertThat(o.decisions().entries("switch")).anySatisfy(e ->
                    assertThat((String) e.get("trigger")).contains("node " + victim + " is available"));
            assertThat(LiveMigrationIT.run(d, requests.subList(0, 2), () -> { })).allSatisfy((id, t) ->
                    assertThat(t).containsExactly(expected.get(id)));
        }
    }

    @Test
    void aMigrationTargetThatDiesMidCopyFallsBackToReplayAndNothingIsLost() throws Exception {
        OrchestratorConfig config = OrchestratorConfig.defaults(LiveMigrationIT.MODEL, Policy.of(Objective.THROUGHPUT))
                .withMinWorkers(3).withTiming(Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250));
        try (Orchestrator o = Orchestrator.start(config, "127.0.0.1", 0, 0)) {
            Map<String, WorkerProcess> workers = new LinkedHashMap<>();
            for (String name : List.of("a", "b", "c")) {
                workers.put(name, worker(name, o));
            }
            Decoding d = o.decoding(Duration.ofMinutes(3));
            var requests = LiveMigrationIT.requests(6, 200);
            Map<String, int[]> expected = LiveMigrationIT.run(d, requests, () -> { });
            List<io.edgesplit.core.plan.Stage> now = o.currentStages();
            // every range moves to the next worker; the one that takes the first range dies as the copy starts
            List<io.edgesplit.core.plan.Stage> moved = new ArrayList<>();
            for (int i = 0; i < now.size(); i++) {
                var s = now.get(i);
                moved.add(new io.edgesplit.core.plan.Stage(now.get((i + 1) % now.size()).node(), s.firstBlock(), s.lastBlock(), 1, 1));
            }
            String target = moved.getFirst().node().value();
            AtomicLong tokens = new AtomicLong();
            d.sink((seq, t) -> tokens.incrementAndGet());
            o.migrationPhases(phase -> {
                if (phase.equals("precopy") && workers.get(target).process().isAlive()) {
                    workers.get(target).kill();
                }
            });
            Map<String, int[]> got = LiveMigrationIT.run(d, requests, () -> {
                await().atMost(Duration.ofMinutes(1)).until(() -> tokens.get() >= 6 * 30);
                o.force(moved, "test: move every range");
            });
            for (String id : expected.keySet()) {
                assertThat(got.get(id)).as(id).containsExactly(expected.get(id));
            }
            assertThat(o.decisions().entries("switch")).anySatisfy(e ->
                    assertThat(String.valueOf(((Map<?, ?>) e.get("migration")).get("fallback"))).contains("pre-copy failed"));
            assertThat(o.decisions().entries("recover")).isNotEmpty();
            assertThat(o.currentPlan()).noneMatch(s -> s.startsWith(target + ":"));
        }
    }

    @Test
    void workersKeepServingThroughAnOrchestratorRestartAndTheNewOneGoesOnAboveTheirEpoch() throws Exception {
        OrchestratorConfig config = OrchestratorConfig.defaults(LiveMigrationIT.MODEL, Policy.of(Objective.THROUGHPUT))
                .withMinWorkers(3).withTiming(Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250));
        Map<String, int[]> expected;
        int port;
        List<Long> pids = new ArrayList<>();
        long epochBefore;
        try (Orchestrator first = Orchestrator.start(config, "127.0.0.1", 0, 0)) {
            port = first.controlPort();
            for (String name : List.of("a", "b", "c")) {
                pids.add(worker(name, first).process().pid());
            }
            Decoding d = first.decoding(Duration.ofMinutes(3));
            expected = LiveMigrationIT.run(d, LiveMigrationIT.requests(3, 100), () -> { });
            List<io.edgesplit.core.plan.Stage> now = first.currentStages();
            List<io.edgesplit.core.plan.Stage> rotated = new ArrayList<>();
            for (int i = 0; i < now.size(); i++) {
                var s = now.get(i);
                rotated.add(new io.edgesplit.core.plan.Stage(now.get((i + 1) % now.size()).node(), s.firstBlock(), s.lastBlock(), 1, 1));
            }
            first.force(rotated, "test: a newer epoch before the restart");
            epochBefore = d.route().epoch();
            // the old ranges are unloaded after their grace period, behind the steps queued on each worker
            await().atMost(Duration.ofSeconds(30)).until(() -> processes.stream().allMatch(p ->
                    first.gateway().telemetry(p.address()).getLoadedCount() <= 1));
        }
        try (Orchestrator second = Orchestrator.start(config, "127.0.0.1", port, 0)) {
            Decoding d = second.decoding(Duration.ofMinutes(3));
            assertThat(d.route().epoch()).isGreaterThan(epochBefore);
            assertThat(second.decisions().entries("node-joined")).hasSize(3);
            assertThat(second.decisions().entries("initial").getFirst().get("trigger").toString()).contains("taken over");
            Map<String, int[]> again = LiveMigrationIT.run(d, LiveMigrationIT.requests(3, 100), () -> { });
            for (String id : expected.keySet()) {
                assertThat(again.get(id)).as(id).containsExactly(expected.get(id));
            }
        }
        assertThat(processes).allSatisfy(p -> assertThat(p.process().isAlive()).isTrue());
        assertThat(processes.stream().map(p -> p.process().pid()).toList()).isEqualTo(pids);
    }
}
