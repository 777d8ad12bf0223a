package io.edgesplit.core.plan;

import io.edgesplit.core.error.EdgeSplitException;
import java.util.Locale;

/** What a plan optimizes. */
public enum Objective {
    /** End-to-end latency of one request, ms. */
    LATENCY,
    /** Requests per second of the pipeline (its slowest stage or link). */
    THROUGHPUT,
    /** Joules per request. */
    ENERGY,
    /** Money per request. */
    COST,
    /** A weighted sum of latency (ms), energy (J) and cost, with the policy's weights. */
    WEIGHTED;

    public static Objective parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw EdgeSplitException.invalidArgument("objective '" + s
                    + "' does not exist; use latency, throughput, energy, cost or weighted");
        }
    }
}
