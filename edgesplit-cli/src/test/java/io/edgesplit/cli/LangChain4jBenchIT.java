package io.edgesplit.cli;

import static io.edgesplit.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * {@code bench langchain4j} at a small size: the three systems run on the same sentences, and
 * EdgeSplit's embeddings (one worker, and split over three) are LangChain4j's to float rounding.
 * Rates are reported, not judged.
 */
class LangChain4jBenchIT {
    @Test
    void edgeSplitEmbedsAsLangChain4jDoes() throws Exception {
        CliTest.Run r = run("bench", "langchain4j", "--sentences", "24", "--repeats", "1", "--batch", "8", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = new ObjectMapper().readTree(r.out());
        assertThat(s.path("sentences").asInt()).isEqualTo(24);
        assertThat(s.path("systems")).hasSize(3);
        for (JsonNode sys : s.path("systems")) {
            assertThat(sys.path("embeddings_per_s").asDouble()).as(sys.path("system").asText()).isPositive();
            assertThat(sys.path("max_abs_diff").asDouble()).as(sys.path("system").asText()).isLessThanOrEqualTo(1e-5);
        }
        assertThat(s.path("systems").get(2).path("how").asText()).contains("a:0-2", "b:3-4", "c:5-6");
    }
}
