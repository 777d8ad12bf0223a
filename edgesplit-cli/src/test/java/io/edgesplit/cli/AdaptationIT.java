package io.edgesplit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.cli.config.ClusterFile;
import io.edgesplit.orchestrator.AdaptationScenario;
import io.edgesplit.orchestrator.AdaptationScenario.Result;
import io.edgesplit.orchestrator.AdaptationScenario.Way;
import io.edgesplit.orchestrator.BandwidthTrace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Required result 3 of the orchestrator issue, on the example cluster (its three 'measure' nodes as
 * worker processes, EMULATED speeds and links): when the busiest link of the first plan loses
 * bandwidth, 10x scripted or following a real HSDPA trace, the adaptive system switches plan and a
 * static one (same first plan, no adaptation) does not; no request fails and all outputs agree.
 */
class AdaptationIT {
    private static final Path CLUSTER = Path.of("../examples/cluster-emulated.yaml");

    private static void check(Result adaptive, Result fixed) {
        assertThat(adaptive.firstPlan()).isEqualTo(fixed.firstPlan());
        assertThat(adaptive.switchAtS()).as("adaptive switched after the change").isNotNull();
        assertThat(adaptive.lastPlan()).isNotEqualTo(adaptive.firstPlan());
        assertThat(fixed.switchesS()).as("static never switches").isEmpty();
        assertThat(fixed.lastPlan()).isEqualTo(fixed.firstPlan());
        assertThat(fixed.decisions()).anySatisfy(d -> assertThat(d.get("kind")).isEqualTo("kept"));
        for (Result r : new Result[] {adaptive, fixed}) {
            assertThat(r.failedRequests()).isZero();
            assertThat(r.consistent()).isTrue();
        }
        assertThat(adaptive.outputs()).isEqualTo(fixed.outputs());
        assertThat(adaptive.decisions()).filteredOn(d -> "switch".equals(d.get("kind"))).allSatisfy(d -> {
            assertThat(d).containsKeys("trigger", "predicted_current", "predicted_new", "move_cost_ms", "chosen_plan",
                    "baseline_plan", "migration");
            assertThat((String) d.get("trigger")).contains("bandwidth");
        });
    }

    @Test
    void aScriptedTenfoldDropMakesTheAdaptiveSystemSwitchAndNotTheStaticOne() throws Exception {
        var options = AdaptationBenchCommand.options(ClusterFile.read(CLUSTER), "builtin:minilm", 128, 10, null, 0, 1, 4, 6);
        Result adaptive = AdaptationScenario.run(options, Way.ADAPTIVE, System.out::println);
        Result fixed = AdaptationScenario.run(options, Way.STATIC, adaptive.firstPlan(), System.out::println);
        check(adaptive, fixed);
        System.out.println("scripted drop: " + AdaptationBenchCommand.report(Map.of(Way.ADAPTIVE, adaptive, Way.STATIC, fixed),
                options, Path.of("-"), Path.of("-")).entrySet().stream().filter(e -> e.getKey().startsWith("p95")
                || e.getKey().equals("reaction_s")).toList());
    }

    @Test
    void followingARealBandwidthTraceTheAdaptiveSystemSwitchesAndTheStaticOneDoesNot() throws Exception {
        var options = AdaptationBenchCommand.options(ClusterFile.read(CLUSTER), "builtin:minilm", 128, 10,
                BandwidthTrace.read(BandwidthTrace.BUILTIN), 28, 2, 3, 12);
        Result adaptive = AdaptationScenario.run(options, Way.ADAPTIVE, System.out::println);
        Result fixed = AdaptationScenario.run(options, Way.STATIC, adaptive.firstPlan(), System.out::println);
        check(adaptive, fixed);
    }

    @Test
    void aFlappingLinkMakesAtMostTheConfiguredNumberOfSwitches(@TempDir Path dir) throws Exception {
        StringBuilder flapping = new StringBuilder();
        // 43 s of run in all, under a minute, so the limit of one switch a minute covers all of it; 40 s after the
        // start give three or more recoveries to want the way back (with 26 s a loaded CI machine once saw none)
        for (int t = 0; t < 60; t++) {
            // Mbit/s: 5x down for 6 s and up again for 6 s, longer than the monitor's window (a 1 s flap it filters out)
            // and long enough for the probes of a link the plan left to show it is back. Down, the link still carries
            // the load (a 20x drop saturated it, and the emulated queue it built up hid the recovery from the probes)
            flapping.append(t).append(t % 12 < 6 ? " 100\n" : " 20\n");
        }
        Path trace = dir.resolve("flapping.txt");
        Files.writeString(trace, flapping);
        // On the example's site the jetson (speed 0.8) and the camera are within a few % of the edge server while the
        // link is up, so close that the noise in profiling and link probes on a loaded CI machine once made the jetson
        // the better plan for good: one early switch to it and then no reason to want another. Here the jetson has
        // speed 0.5 and the camera is no worker (its block times from a FLOP rate, as the cloud's), so that the edge
        // server is clearly the better with the link up (predicted 42-48 ms against the jetson's 71-81 ms) and
        // clearly the worse with it down (105-113 ms)
        String yaml = Files.readString(CLUSTER);
        String site = yaml.replace("profile: measure\n    speed: 0.8", "profile: measure\n    speed: 0.5")
                .replace("profile: measure\n    speed: 0.4", "gflops: {1: 1}");
        assertThat(site).as("both edits made").contains("speed: 0.5").doesNotContain("speed: 0.4", "speed: 0.8");
        Path cluster = dir.resolve("cluster.yaml");
        Files.writeString(cluster, site);
        var options = AdaptationBenchCommand.options(ClusterFile.read(cluster), "builtin:minilm", 128, 10,
                BandwidthTrace.read(trace.toString()), 0, 1, 3, 40).withMaxSwitchesPerMinute(1)
                // any better plan is wanted: only the limit on switches holds it back
                .withSwitchRules(0, 0);
        Result adaptive = AdaptationScenario.run(options, Way.ADAPTIVE, System.out::println);
        assertThat(adaptive.failedRequests()).isZero();
        assertThat(adaptive.switchesS()).hasSizeLessThanOrEqualTo(1);
        assertThat(adaptive.decisions()).filteredOn(d -> "switch".equals(d.get("kind"))).hasSizeLessThanOrEqualTo(1);
        long limited = adaptive.decisions().stream()
                .filter(d -> String.valueOf(d.get("not_switched_because")).contains("switches in the last minute")).count();
        assertThat(adaptive.switchesS().size() + limited).as("the link flapped enough to want more switches than allowed: "
                + adaptive.decisions().stream().filter(d -> !String.valueOf(d.get("kind")).startsWith("node-")).toList())
                .isGreaterThanOrEqualTo(2);
    }
}
