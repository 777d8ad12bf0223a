package io.edgesplit.orchestrator;

import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.PrivacyClass;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How the orchestrator runs.
 *
 * @param model the model it serves (builtin:NAME or a path every worker can read)
 * @param policy what plans optimize and the bounds they keep
 * @param source the node requests come from (the gateway), as links name it
 * @param nodes what is known of nodes before they join (power, cost, memory), by name; optional
 * @param links configured links (bandwidth until measured, and latency)
 * @param defaultLink a link nobody configured
 * @param messageOverheadMs the data plane's own cost per message, added to every link's latency
 * @param heartbeat how often workers report
 * @param deadAfter a worker silent this long is dead
 * @param tick how often the controller reconciles without an event
 * @param switchFactor a plan change must gain this many times its move cost over the horizon
 * @param horizon how far ahead a plan's gain is counted
 * @param minRelativeGain changes that improve the objective by less than this fraction are not made
 * @param maxSwitchesPerMinute plan changes per minute at most (changes forced by a dead node do not count)
 * @param method how KV caches move when a plan changes
 * @param profileTokens sequence length at which joining workers are profiled (1 for decoders: a decode step)
 * @param decisionLog where to append the decision log, or null
 * @param loadBytesPerS how fast a worker loads weights, for the move cost
 * @param warmupMs warm-up of a newly loaded range, for the move cost
 * @param minWorkers workers that must be ready before the first plan
 * @param stepTimeout a step without a result for this long counts as failed
 * @param privacyClasses the classes requests may name, by name: each runs on a route of its own
 *     within the zones it allows
 */
public record OrchestratorConfig(String model, Policy policy, String source, Map<String, NodeInfo> nodes, List<Link> links,
        Link defaultLink, double messageOverheadMs, Duration heartbeat, Duration deadAfter, Duration tick,
        double switchFactor, Duration horizon, double minRelativeGain, int maxSwitchesPerMinute, Migrator.Method method,
        int profileTokens, Path decisionLog, double loadBytesPerS, double warmupMs, int minWorkers, Duration stepTimeout,
        Map<String, PrivacyClass> privacyClasses) {

    /** What the configuration says about a node; memory 0: what the worker reports. */
    public record NodeInfo(PowerModel power, double costPerHour, long memoryBytes) {}

    public OrchestratorConfig {
        Objects.requireNonNull(model, "model == null");
        Objects.requireNonNull(policy, "policy == null");
        nodes = Map.copyOf(nodes);
        privacyClasses = Map.copyOf(privacyClasses);
        links = List.copyOf(links);
        if (!(switchFactor >= 0) || !(minRelativeGain >= 0) || maxSwitchesPerMinute < 0 || minWorkers < 1) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "orchestrator: switch-factor and min-relative-gain must be "
                    + ">= 0, max-switches-per-minute >= 0 and min-workers >= 1");
        }
        if (deadAfter.compareTo(heartbeat) <= 0) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "orchestrator: dead-after (" + deadAfter.toMillis()
                    + " ms) must be longer than the heartbeat (" + heartbeat.toMillis() + " ms)");
        }
    }

    public static OrchestratorConfig defaults(String model, Policy policy) {
        return new OrchestratorConfig(model, policy, "gateway", Map.of(), List.of(),
                new Link(io.edgesplit.core.cluster.NodeId.of("any"), io.edgesplit.core.cluster.NodeId.of("other"), 125e6, 0.2),
                1.0, Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(250), 2.0, Duration.ofSeconds(30), 0.1, 6,
                Migrator.Method.PRECOPY, 32, null, 200e6, 5, 1, Duration.ofSeconds(10), Map.of());
    }

    public OrchestratorConfig withLinks(List<Link> l) {
        return new OrchestratorConfig(model, policy, source, nodes, l, defaultLink, messageOverheadMs, heartbeat, deadAfter, tick,
                switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog, loadBytesPerS,
                warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withNodes(Map<String, NodeInfo> n) {
        return new OrchestratorConfig(model, policy, source, n, links, defaultLink, messageOverheadMs, heartbeat, deadAfter, tick,
                switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog, loadBytesPerS,
                warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withMinWorkers(int n) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog,
                loadBytesPerS, warmupMs, n, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withProfileTokens(int tokens) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, tokens, decisionLog, loadBytesPerS,
                warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withDecisionLog(Path p) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, p, loadBytesPerS,
                warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withSwitching(double factor, double minGain, int perMinute) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, factor, horizon, minGain, perMinute, method, profileTokens, decisionLog, loadBytesPerS, warmupMs, minWorkers,
                stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withTiming(Duration heartbeatEvery, Duration dead, Duration tickEvery) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeatEvery, dead,
                tickEvery, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog,
                loadBytesPerS, warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withMessageOverheadMs(double ms) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, ms, heartbeat, deadAfter, tick,
                switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog, loadBytesPerS,
                warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withPolicy(Policy p) {
        return new OrchestratorConfig(model, p, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog,
                loadBytesPerS, warmupMs, minWorkers, stepTimeout, privacyClasses);
    }

    public OrchestratorConfig withPrivacyClasses(Map<String, PrivacyClass> classes) {
        return new OrchestratorConfig(model, policy, source, nodes, links, defaultLink, messageOverheadMs, heartbeat, deadAfter,
                tick, switchFactor, horizon, minRelativeGain, maxSwitchesPerMinute, method, profileTokens, decisionLog,
                loadBytesPerS, warmupMs, minWorkers, stepTimeout, classes);
    }

    /** The configured link from a to b (either direction), or the default one. */
    public Link link(String a, String b) {
        for (Link l : links) {
            if ((l.from().value().equals(a) && l.to().value().equals(b)) || (l.from().value().equals(b) && l.to().value().equals(a))) {
                return l;
            }
        }
        return defaultLink;
    }
}
