package io.edgesplit.bench.loadgen;

import java.time.Duration;

/**
 * The four MLPerf Inference scenarios, with the rules' official minimums (MLPerf Inference rules,
 * v4.x, edge and datacenter): each run lasts at least 600 s and issues at least as many queries as
 * its early stopping needs at the scenario's percentile.
 */
public enum Scenario {
    /** Next query when the previous completes; one sample per query; metric: 90th percentile latency. */
    SINGLE_STREAM("single-stream", 0.90, 1024, 1),
    /** Next query when the previous completes; 8 samples per query; metric: 99th percentile per-query latency. */
    MULTI_STREAM("multi-stream", 0.99, 662, 8),
    /** Poisson arrivals at a target QPS; metric: the highest QPS whose 99th percentile stays within the bound. */
    SERVER("server", 0.99, 270_336, 1),
    /** Every sample at once in one query; metric: samples per second. */
    OFFLINE("offline", 0.0, 1, 24_576);

    /** What the rules ask of every scenario's run. */
    public static final Duration OFFICIAL_MIN_DURATION = Duration.ofSeconds(600);

    public final String label;
    /** The latency percentile the scenario's metric is about (0 for offline). */
    public final double percentile;
    public final long officialMinQueries;
    /** Samples in one query: 8 for multi-stream; for offline, the official minimum of samples in its one query. */
    public final int samplesPerQuery;

    Scenario(String label, double percentile, long officialMinQueries, int samplesPerQuery) {
        this.label = label;
        this.percentile = percentile;
        this.officialMinQueries = officialMinQueries;
        this.samplesPerQuery = samplesPerQuery;
    }

    public static Scenario parse(String s) {
        for (Scenario x : values()) {
            if (x.label.equals(s) || x.name().equalsIgnoreCase(s)) {
                return x;
            }
        }
        throw new IllegalArgumentException("unknown scenario '" + s + "' (single-stream, multi-stream, server, offline)");
    }
}
