package io.edgesplit.bench.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Early stopping against figures MLPerf LoadGen prints, and against the binomial it stands on. */
class EarlyStoppingTest {
    private static long[] ramp(int n) {
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = (long) (n - i) * 1000; // any order: descending here
        }
        return l;
    }

    @Test
    void singleStreamEstimatesMatchLoadGensSummaries() {
        // LoadGen single-stream summaries: "Processed at least 64 queries (2048). Would discard 172 highest latency
        // queries." and 178 of 2116, 181 of 2145, all at the 90th percentile
        for (int[] run : new int[][] {{2048, 172}, {2116, 178}, {2145, 181}}) {
            EarlyStopping.Estimate e = EarlyStopping.estimate(ramp(run[0]), 0.90);
            assertThat(e.enough()).isTrue();
            assertThat(e.needed()).isEqualTo(64);
            assertThat(e.discarded()).as("queries discarded of %d", run[0]).isEqualTo(run[1]);
            assertThat(e.latencyNanos()).isEqualTo((long) (run[0] - run[1]) * 1000); // the highest one kept
        }
    }

    @Test
    void tooFewQueriesGiveNoEstimate() {
        EarlyStopping.Estimate e = EarlyStopping.estimate(ramp(63), 0.90);
        assertThat(e.enough()).isFalse();
        assertThat(e.needed()).isEqualTo(64);
        // at the 99th percentile 662 are needed: MLPerf's minimum query count for multi-stream
        assertThat(EarlyStopping.estimate(ramp(662), 0.99).enough()).isTrue();
        assertThat(EarlyStopping.estimate(ramp(661), 0.99).needed()).isEqualTo(662);
    }

    @Test
    void minPassingIsTheBinomialBoundary() {
        for (long t : new long[] {0, 1, 5, 40}) {
            long h = EarlyStopping.minPassing(t, 0.9, 0.99);
            assertThat(EarlyStopping.atMost(t, h + t, 0.1)).isLessThanOrEqualTo(0.01);
            assertThat(EarlyStopping.atMost(t, h - 1 + t, 0.1)).isGreaterThan(0.01);
        }
        assertThat(EarlyStopping.atMost(1, 2, 0.5)).isCloseTo(0.75, within(1e-12));
    }

    @Test
    void aServerRunPassesWhenFewEnoughQueriesAreOverItsBound() {
        long[] fast = new long[2000];
        java.util.Arrays.fill(fast, 5_000_000);
        assertThat(EarlyStopping.serverShortfall(fast, 10_000_000, 0.99)).isZero();
        for (int i = 0; i < 40; i++) {
            fast[i] = 50_000_000; // 2% over the bound: a 99th percentile within it cannot be shown
        }
        assertThat(EarlyStopping.serverShortfall(fast, 10_000_000, 0.99)).isPositive();
    }
}
