package io.edgesplit.core.plan;

/**
 * What the cost model predicts for a plan, per request.
 *
 * @param latencyMs source to source, compute plus transfers
 * @param throughputRps requests per second when pipelined: 1 / the slowest stage or link
 * @param energyJ busy power x compute time, plus idle power of the nodes while their input arrives
 * @param cost node price per hour x the compute time the request uses on it
 */
public record Prediction(double latencyMs, double throughputRps, double energyJ, double cost) {}
