package io.edgesplit.bench.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.BufferedReader;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

/** The Azure traces as shipped: their sizes and first rows, and windows of them. */
class AzureTraceTest {
    @Test
    void theShippedTracesReadAsTheirReadmeDescribesThem() {
        AzureTrace conv = AzureTrace.read("builtin:azure-conv");
        assertThat(conv.requests()).hasSize(19_366);
        assertThat(conv.requests().getFirst()).isEqualTo(new AzureTrace.Request(0, 374, 44));
        assertThat(conv.requests().get(1).offsetNanos()).isEqualTo(4_314_579_000L); // 18:15:50.9951690 - 18:15:46.6805900
        assertThat(conv.span().toMinutes()).isBetween(57L, 59L);
        AzureTrace code = AzureTrace.read("builtin:azure-code");
        assertThat(code.requests()).hasSize(8_819);
    }

    @Test
    void aWindowKeepsItsRequestsAndCompressesTheirArrivals() {
        AzureTrace conv = AzureTrace.read("builtin:azure-conv");
        AzureTrace w = conv.window(60, 30, 2);
        long inWindow = conv.requests().stream().filter(q -> q.offsetNanos() >= 60e9 && q.offsetNanos() < 90e9).count();
        assertThat(w.requests()).hasSize((int) inWindow);
        assertThat(w.span().toMillis()).isLessThanOrEqualTo(15_000);
        assertThat(w.arrivals()).isSorted();
    }

    @Test
    void badTracesAreRefusedWithTheLineNamed() {
        assertThat(catchThrowable(() -> AzureTrace.parse("t.csv", new BufferedReader(new StringReader("a,b\n")))))
                .hasMessageContaining("header");
        assertThat(catchThrowable(() -> AzureTrace.parse("t.csv", new BufferedReader(new StringReader(
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\nyesterday,1,2\n")))))
                .hasMessageContaining("line 3");
        assertThat(catchThrowable(() -> AzureTrace.read("/nonexistent.csv"))).hasMessageContaining("cannot read trace");
    }
}
