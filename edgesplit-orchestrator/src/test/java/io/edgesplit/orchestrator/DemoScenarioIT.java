package io.edgesplit.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The main job, shortened: both models served through the HTTP API while a link follows a real
 * trace, a worker holding stages is killed and comes back; no request fails, every repeated input
 * gives the same output, the plans that lost the worker are recovered, and the worker serves again.
 */
class DemoScenarioIT {
    @Test
    @SuppressWarnings("unchecked")
    void theScenarioLosesNoRequestAndRecoversFromTheKill() throws Exception {
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        DemoScenario.Listener listener = lines::add;
        try (DemoScenario demo = DemoScenario.start(new DemoScenario.Options(Duration.ofSeconds(20), 0,
                BandwidthTrace.read(BandwidthTrace.BUILTIN), 28, 2), listener)) {
            Map<String, Object> s = demo.play();
            assertThat(s.get("failed_requests")).as(String.join("\n", lines)).isEqualTo(0L);
            assertThat(s.get("identical_outputs")).isEqualTo(true);
            List<Map<String, Object>> phases = (List<Map<String, Object>>) s.get("phases");
            assertThat(phases).extracting(p -> p.get("name")).containsExactly("steady", "bandwidth", "fault", "rejoin");
            for (Map<String, Object> p : phases) {
                Map<String, Map<String, Object>> models = (Map<String, Map<String, Object>>) p.get("models");
                assertThat(models).containsOnlyKeys(DemoScenario.ENCODER, DemoScenario.DECODER);
                // a request counts in the phase it started in: one waiting out a dead worker's detection can fill a short phase
                assertThat(models.values().stream().mapToInt(v -> ((Number) v.get("requests")).intValue()).sum())
                        .as("requests started in phase " + p.get("name")).isPositive();
            }
            List<Map<String, Object>> script = (List<Map<String, Object>>) s.get("script");
            String killed = script.stream().filter(e -> e.get("kind").equals("kill")).map(e -> (String) e.get("what"))
                    .findFirst().orElseThrow().split(" ")[2];
            List<Map<String, Object>> changes = (List<Map<String, Object>>) s.get("plan_changes");
            assertThat(changes).filteredOn(c -> c.get("kind").equals("initial")).hasSize(2);
            // every model whose plan used the killed worker was recovered without it
            assertThat(changes).filteredOn(c -> c.get("kind").equals("recover")).isNotEmpty()
                    .allSatisfy(c -> assertThat(String.valueOf(c.get("chosen_plan"))).doesNotContain(killed + ":"));
            for (Orchestrator o : demo.orchestrators()) {
                assertThat(o.readyWorkers()).as(o.modelName()).contains(killed);
            }
        }
    }
}
