package io.edgesplit.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.WorkerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Required result 1 of the orchestrator issue: 16 sequences of stories260K decode continuously on
 * three worker processes while their blocks move 20 times (to other workers and to other cut
 * points); every sequence's text is the one it has without any move, and no step runs twice.
 */
class LiveMigrationIT {
    static final String MODEL = "builtin:stories260k";
    private final List<WorkerProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        processes.forEach(WorkerProcess::close);
    }

    static AnalyzedModel analyze(String model) {
        return ModelAnalyzer.analyze(new OnnxModelLoader(LoadLimits.defaults()).load(model), ModelAnalyzer.Options.defaults());
    }

    static List<Decoding.Request> requests(int n, int maxTokens) {
        List<Decoding.Request> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // BOS then a different first word each; sampled at temperature 0.9 with a seed of its own
            out.add(new Decoding.Request("seq" + i, new int[] {1, 300 + i}, new Sampling(0.9, 0, 1.0, 1000 + i), maxTokens,
                    Set.of(), Gateway.Privacy.NONE));
        }
        return out;
    }

    static Map<String, int[]> run(Decoding d, List<Decoding.Request> requests, Runnable meanwhile) throws Exception {
        List<CompletableFuture<Decoding.Result>> futures = new ArrayList<>();
        requests.forEach(r -> futures.add(d.start(r)));
        meanwhile.run();
        Map<String, int[]> out = new java.util.TreeMap<>();
        for (var f : futures) {
            Decoding.Result r = f.get(5, TimeUnit.MINUTES);
            out.put(r.id(), r.tokens());
        }
        return out;
    }

    /** A random tiling of the blocks into 1 to 3 ranges on distinct workers, different from {@code current}. */
    static List<Gateway.HopSpec> randomRoute(Random random, int blocks, List<String> names, Map<String, String> addresses,
            List<Gateway.HopSpec> current) {
        while (true) {
            int stages = 1 + random.nextInt(3);
            List<Integer> cuts = new ArrayList<>();
            while (cuts.size() < stages - 1) {
                int c = random.nextInt(blocks - 1);
                if (!cuts.contains(c)) {
                    cuts.add(c);
                }
            }
            cuts.sort(null);
            List<String> order = new ArrayList<>(names);
            java.util.Collections.shuffle(order, random);
            List<Gateway.HopSpec> hops = new ArrayList<>();
            int first = 0;
            for (int s = 0; s < stages; s++) {
                int last = s < cuts.size() ? cuts.get(s) : blocks - 1;
                String name = order.get(s);
                hops.add(new Gateway.HopSpec(name, addresses.get(name), "edge", first, last));
                first = last + 1;
            }
            if (!hops.equals(current)) {
                return hops;
            }
        }
    }

    static long workerSteps(Gateway g, Iterable<String> addresses) {
        long total = 0;
        for (String a : addresses) {
            total += g.telemetry(a).getSteps();
        }
        return total;
    }

    @Test
    void sixteenSequencesGiveTheSameTextWhileTheirBlocksMoveTwentyTimes() throws Exception {
        AnalyzedModel am = analyze(MODEL);
        int blocks = am.blockCount();
        Map<String, String> addresses = new java.util.LinkedHashMap<>();
        for (String name : List.of("a", "b", "c")) {
            WorkerProcess p = WorkerProcess.start(name, "edge", 1);
            processes.add(p);
            addresses.put(name, p.address());
        }
        List<String> names = List.copyOf(addresses.keySet());
        try (Gateway g = Gateway.start("127.0.0.1", 0)) {
            List<Gateway.HopSpec> first = new ArrayList<>();
            int[][] ranges = {{0, 2}, {3, 4}, {5, blocks - 1}};
            for (int i = 0; i < 3; i++) {
                first.add(g.load(addresses.get(names.get(i)), "edge", MODEL, ranges[i][0], ranges[i][1], 1, null));
            }
            Decoding.Route start = new Decoding.Route(1, first);
            List<Decoding.Request> requests = requests(16, 360);

            Map<String, int[]> expected;
            try (Decoding still = new Decoding(g, MODEL, am, start, Duration.ofSeconds(60))) {
                expected = run(still, requests, () -> { });
            }

            long stepsBefore = workerSteps(g, addresses.values());
            Migrator migrator = new Migrator(g);
            Random random = new Random(7);
            List<Migrator.Report> reports = new ArrayList<>();
            Map<String, int[]> moved;
            try (Decoding d = new Decoding(g, MODEL, am, start, Duration.ofSeconds(60))) {
                List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
                d.listener((seq, node, error) -> failures.add(seq + " at " + node + ": " + error));
                moved = run(d, requests, () -> {
                    for (int i = 0; i < 20; i++) {
                        Decoding.Route now = d.route();
                        var next = new Decoding.Route(now.epoch() + 1, randomRoute(random, blocks, names, addresses, now.hops()));
                        reports.add(migrator.switchTo(d, next, Migrator.Method.PRECOPY));
                    }
                });
                assertThat(workerSteps(g, addresses.values()) - stepsBefore).as("stage runs on the workers: each step once, and the warm-ups")
                        .isEqualTo(d.hopRuns() + d.warmUpHopRuns());
                assertThat(d.warmUpHopRuns()).as("every move with something to load warmed it up").isPositive();
                assertThat(failures).as("steps that failed during the moves").isEmpty();
                assertThat(d.replayedSteps()).isZero();

                // a step of an epoch that is over is refused and counted
                Decoding.Route last = d.route();
                DecodeInputs inputs = new DecodeInputs(am.index(), am.state());
                Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), new long[][] {{1}}, 0);
                long rejectedBefore = rejected(g, addresses.values());
                try {
                    assertThatThrownBy(() -> g.submit(MODEL, last.epoch() - 1, last.hops(), "stale", "stale", 0,
                            Gateway.Privacy.NONE, in, 0).get(60, TimeUnit.SECONDS)).hasMessageContaining("older than epoch");
                } finally {
                    in.values().forEach(OnnxTensor::close);
                }
                assertThat(rejected(g, addresses.values()) - rejectedBefore).isEqualTo(1);
            }
            assertThat(reports).hasSize(20).allSatisfy(r -> {
                assertThat(r.fallback()).isNull();
                assertThat(r.sequences()).as("sequences decoding during the move").isEqualTo(16);
            });
            assertThat(reports).anySatisfy(r -> assertThat(r.kvBytes()).isPositive());
            assertThat(moved.keySet()).isEqualTo(expected.keySet());
            for (String id : expected.keySet()) {
                assertThat(moved.get(id)).as(id).containsExactly(expected.get(id));
            }
            assertThat(expected.values()).allSatisfy(t -> assertThat(t).hasSize(360));
        }
    }

    static long rejected(Gateway g, Iterable<String> addresses) {
        long total = 0;
        for (String a : addresses) {
            total += g.telemetry(a).getRejectedEpoch();
        }
        return total;
    }
}
