package io.edgesplit.core.plan;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.util.Objects;

/**
 * What the planner is asked for.
 *
 * @param weights coefficients of latency (per ms), energy (per J) and cost for {@link Objective#WEIGHTED}
 * @param latencySloMs bound on end-to-end latency, or 0 for none
 * @param minThroughputRps bound on requests per second, or 0 for none
 * @param privacy the request's privacy class, or null when any zone may serve it
 * @param maxStages most stages in a plan
 * @param kvTokens tokens of KV cache each stage must hold room for (context x concurrent sequences)
 * @param unitsPerRequest tokens (or samples) per request: scales the bytes sent between stages
 */
public record Policy(Objective objective, Weights weights, double latencySloMs, double minThroughputRps,
        PrivacyClass privacy, int maxStages, long kvTokens, double unitsPerRequest) {

    /** Weights of the weighted objective. */
    public record Weights(double latencyPerMs, double energyPerJoule, double costPerUnit) {
        public Weights {
            if (!(latencyPerMs >= 0) || !(energyPerJoule >= 0) || !(costPerUnit >= 0)
                    || latencyPerMs + energyPerJoule + costPerUnit == 0) {
                throw new EdgeSplitException(ErrorCode.CONFIG_INVALID,
                        "weights must be >= 0 and not all 0: " + latencyPerMs + ", " + energyPerJoule + ", " + costPerUnit);
            }
        }
    }

    public Policy {
        Objects.requireNonNull(objective, "objective == null");
        if (objective == Objective.WEIGHTED && weights == null) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "the weighted objective needs weights");
        }
        if (!(latencySloMs >= 0) || Double.isInfinite(latencySloMs)) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "latency SLO must be a finite number >= 0 (0: none): "
                    + latencySloMs);
        }
        if (!(minThroughputRps >= 0) || Double.isInfinite(minThroughputRps)) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID,
                    "minimum throughput must be a finite number >= 0 (0: none): " + minThroughputRps);
        }
        if (maxStages < 1) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "max stages must be >= 1: " + maxStages);
        }
        if (kvTokens < 0) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "kv tokens must be >= 0: " + kvTokens);
        }
        if (!(unitsPerRequest > 0)) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "units per request must be > 0: " + unitsPerRequest);
        }
    }

    public static Policy of(Objective objective) {
        return new Policy(objective, objective == Objective.WEIGHTED ? new Weights(1, 0, 0) : null, 0, 0, null, 8, 0, 1);
    }

    public Policy withObjective(Objective o) {
        return new Policy(o, o == Objective.WEIGHTED && weights == null ? new Weights(1, 0, 0) : weights, latencySloMs,
                minThroughputRps, privacy, maxStages, kvTokens, unitsPerRequest);
    }

    public Policy withWeights(Weights w) {
        return new Policy(objective, w, latencySloMs, minThroughputRps, privacy, maxStages, kvTokens, unitsPerRequest);
    }

    public Policy withSlo(double ms) {
        return new Policy(objective, weights, ms, minThroughputRps, privacy, maxStages, kvTokens, unitsPerRequest);
    }

    public Policy withMinThroughput(double rps) {
        return new Policy(objective, weights, latencySloMs, rps, privacy, maxStages, kvTokens, unitsPerRequest);
    }

    public Policy withPrivacy(PrivacyClass p) {
        return new Policy(objective, weights, latencySloMs, minThroughputRps, p, maxStages, kvTokens, unitsPerRequest);
    }

    public Policy withMaxStages(int k) {
        return new Policy(objective, weights, latencySloMs, minThroughputRps, privacy, k, kvTokens, unitsPerRequest);
    }

    public Policy withKvTokens(long tokens) {
        return new Policy(objective, weights, latencySloMs, minThroughputRps, privacy, maxStages, tokens, unitsPerRequest);
    }

    public Policy withUnitsPerRequest(double units) {
        return new Policy(objective, weights, latencySloMs, minThroughputRps, privacy, maxStages, kvTokens, units);
    }
}
