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
                assertThat(models).containsOnlyKeys(DemoScenario.ENCODER, DemoScenario.DECODER, DemoScenario.RESTRICTED_LANE);
                // a request counts in the phase it started in: one waiting out a dead worker's detection can fill a short phase
                assertThat(models.values().stream().mapToInt(v -> ((Number) v.get("requests")).intValue()).sum())
                        .as("requests started in phase " + p.get("name")).isPositive();
            }
            List<Map<String, Object>> script = (List<Map<String, Object>>) s.get("script");
            Map<String, Object> kill = script.stream().filter(e -> e.get("kind").equals("kill")).findFirst().orElseThrow();
            String killed = ((String) kill.get("what")).split(" ")[2];
            double killedAt = ((Number) kill.get("t_s")).doubleValue();
            List<Map<String, Object>> changes = (List<Map<String, Object>>) s.get("plan_changes");
            String log = String.join("\n", lines) + "\n" + changes;
            assertThat(changes).as(log).filteredOn(c -> c.get("kind").equals("initial") && c.get("privacy_class") == null).hasSize(2);
            int affected = 0;
            for (String model : List.of(DemoScenario.ENCODER, DemoScenario.DECODER)) {
                List<Map<String, Object>> mine = changes.stream().filter(c -> c.get("model").equals(model)
                        && c.get("privacy_class") == null).toList();
                Map<String, Object> atKill = mine.stream().filter(c -> ((Number) c.get("t_s")).doubleValue() <= killedAt)
                        .reduce((a, b) -> b).orElseThrow();
                if (!String.valueOf(atKill.get("chosen_plan")).contains(killed + ":")) {
                    continue; // a switch just before the kill had moved this model off it
                }
                affected++;
                // the model left the dead worker: recovered (replayed) or, when a switch was already under way, switched
                assertThat(mine).as(model + " after losing " + killed + ":\n" + log)
                        .filteredOn(c -> ((Number) c.get("t_s")).doubleValue() >= killedAt
                                && List.of("recover", "switch").contains(c.get("kind")))
                        .isNotEmpty().first()
                        .satisfies(c -> assertThat(String.valueOf(c.get("chosen_plan"))).doesNotContain(killed + ":"));
            }
            assertThat(affected + changes.stream().filter(c -> c.get("kind").equals("recover")).count()).as(log).isPositive();
            for (Orchestrator o : demo.orchestrators()) {
                assertThat(o.readyWorkers()).as(o.modelName()).contains(killed);
            }
            // the restricted client's requests ran on the trusted camera only, and the workers say so
            Map<String, Object> privacy = (Map<String, Object>) s.get("privacy");
            assertThat(killed).isNotEqualTo("camera");
            assertThat((List<String>) ((Map<String, Object>) privacy.get("routes")).get(DemoScenario.ENCODER)).as(log)
                    .isNotEmpty().allMatch(st -> st.startsWith("camera:"));
            assertThat(((Map<String, Long>) privacy.get("bytes_sent"))).as(log).isNotEmpty()
                    .allSatisfy((link, bytes) -> assertThat(link).isEqualTo("camera->gateway"));
            assertThat(privacy.get("bytes_outside_allowed_zones")).isEqualTo(0L);
            assertThat(phases).allSatisfy(p -> assertThat(((Map<String, Map<String, Object>>) p.get("models"))
                    .get(DemoScenario.RESTRICTED_LANE).get("failed")).isEqualTo(0L));
        }
    }
}
