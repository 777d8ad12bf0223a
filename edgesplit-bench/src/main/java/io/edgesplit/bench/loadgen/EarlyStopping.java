package io.edgesplit.bench.loadgen;

import java.util.Arrays;

/**
 * MLPerf LoadGen's early stopping: with only so many queries, what latency can be claimed for a
 * percentile at a confidence (0.99)? A run of {@code n} queries with {@code t} of them over a
 * latency shows, at confidence {@code c}, that the true {@code p}-percentile is within it when
 * P(at most t over-latency queries among n | each is over with probability 1 - p) <= 1 - c, which
 * holds from some number of under-latency queries {@code h} on ({@link #minPassing}). The
 * estimate for a percentile is the latency that still holds after discarding the highest ones the
 * run can afford (as LoadGen computes it for the single-stream and multi-stream scenarios); the
 * server scenario passes when the queries over its bound are few enough.
 */
public final class EarlyStopping {
    /** The confidence LoadGen uses. */
    public static final double CONFIDENCE = 0.99;

    private EarlyStopping() {}

    /**
     * The fewest under-latency queries {@code h} such that, with {@code t} over-latency ones,
     * P(Binomial(h + t, 1 - p) <= t) <= 1 - c.
     */
    public static long minPassing(long t, double p, double c) {
        if (!(p > 0 && p < 1) || !(c > 0 && c < 1) || t < 0) {
            throw new IllegalArgumentException("percentile and confidence must be in (0, 1), t >= 0");
        }
        double target = 1 - c;
        long lo = 1;
        long hi = 1;
        while (atMost(t, hi + t, 1 - p) > target) {
            hi *= 2;
        }
        while (lo < hi) { // the probability falls as h grows
            long mid = (lo + hi) >>> 1;
            if (atMost(t, mid + t, 1 - p) > target) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** P(Binomial(n, q) <= t), summed in log space. */
    static double atMost(long t, long n, double q) {
        double logQ = Math.log(q);
        double logNotQ = Math.log1p(-q);
        double sum = 0;
        double logChoose = 0; // log C(n, 0)
        for (long k = 0; k <= Math.min(t, n); k++) {
            if (k > 0) {
                logChoose += Math.log((double) (n - k + 1) / k);
            }
            sum += Math.exp(logChoose + k * logQ + (n - k) * logNotQ);
        }
        return Math.min(1, sum);
    }

    /**
     * A percentile's early-stopping estimate from a run's latencies (any order): the latency after
     * discarding the {@code discarded} highest, or not enough queries to tell.
     *
     * @param needed queries a run needs for any estimate of this percentile
     */
    public record Estimate(boolean enough, long needed, long discarded, long latencyNanos) {}

    /** LoadGen's single-stream / multi-stream estimate of percentile {@code p} at {@link #CONFIDENCE}. */
    public static Estimate estimate(long[] latenciesNanos, double p) {
        long n = latenciesNanos.length;
        long hMin = minPassing(1, p, CONFIDENCE);
        if (n < hMin + 1) {
            return new Estimate(false, hMin + 1, 0, -1);
        }
        long t = 1;
        for (long i = 2; i <= n; i++) {
            long h = minPassing(i, p, CONFIDENCE);
            if (n < h + i) {
                t = i - 1;
                break;
            }
        }
        long[] sorted = latenciesNanos.clone();
        Arrays.sort(sorted);
        return new Estimate(true, hMin + 1, t - 1, sorted[(int) (n - t)]);
    }

    /**
     * The server scenario's check: the queries over {@code boundNanos} are few enough for the run's
     * size to show the {@code p}-percentile within the bound. Returns the queries still needed (0:
     * it passes), as LoadGen counts them.
     */
    public static long serverShortfall(long[] latenciesNanos, long boundNanos, double p) {
        long over = Arrays.stream(latenciesNanos).filter(l -> l > boundNanos).count();
        long h = minPassing(over, p, CONFIDENCE);
        return Math.max(0, h + over - latenciesNanos.length);
    }
}
