package io.edgesplit.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Objective;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.PrivacyClass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A cluster description (YAML): nodes with where their block times come from, links, privacy
 * classes and a default policy. See {@code examples/cluster-emulated.yaml}. Block times come from a
 * profile measured by {@code edgesplit profile --json} (a file, or {@code measure} to measure on
 * this machine when planning), optionally scaled by {@code speed} to emulate a slower or faster
 * device; or from {@code gflops} per thread count (an analytic, emulated device). Emulated nodes
 * are listed as such in every output.
 */
public record ClusterFile(String name, NodeId source, List<NodeSpec> nodes, List<Link> links,
        Map<String, PrivacyClass> privacyClasses, Policy policy, ConfigNode orchestrator) {

    /** Where a node's block times come from. */
    public sealed interface Times permits Measured, Analytic {}

    /** Times of a measured profile (file, or null: measure here) divided by {@code speed}. */
    public record Measured(Path profile, double speed) implements Times {}

    /** Times from FLOPs: per thread count a rate in GFLOP/s, plus a fixed overhead per block. */
    public record Analytic(Map<Integer, Double> gflops, double overheadMs) implements Times {}

    public record NodeSpec(NodeId id, String zone, long memoryBytes, int cores, PowerModel power, double costPerHour,
            Times times) {
        public boolean emulated() {
            return switch (times) {
                case Measured m -> m.speed() != 1.0;
                case Analytic a -> true;
            };
        }
    }

    private static final Set<String> TOP = Set.of("name", "source", "nodes", "links", "symmetric-links",
            "privacy-classes", "policy", "orchestrator");
    private static final Set<String> NODE = Set.of("name", "zone", "memory", "cores", "power", "cost-per-hour",
            "profile", "speed", "gflops", "overhead-ms");
    private static final Set<String> LINK = Set.of("from", "to", "bandwidth", "latency-ms");
    private static final Set<String> POLICY = Set.of("objective", "weights", "latency-slo-ms", "min-throughput-rps",
            "max-stages", "kv-tokens", "privacy-class");

    public static ClusterFile read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "cluster file " + file + " does not exist");
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "cluster file " + file + " is not valid YAML: "
                    + firstLine(e.getMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "cluster file " + file + " is empty");
        }
        return parse(new ConfigNode(file.getFileName().toString(), "", root), file.toAbsolutePath().getParent());
    }

    static ClusterFile parse(ConfigNode root, Path base) {
        root.only(TOP);
        String name = root.has("name") ? root.get("name").text() : "cluster";
        List<NodeSpec> nodes = new ArrayList<>();
        Set<NodeId> ids = new HashSet<>();
        Set<String> zones = new HashSet<>();
        for (ConfigNode n : root.get("nodes").list()) {
            NodeSpec spec = node(n, base);
            if (!ids.add(spec.id())) {
                throw n.get("name").error("node '" + spec.id() + "' appears twice");
            }
            zones.add(spec.zone());
            nodes.add(spec);
        }
        if (nodes.isEmpty()) {
            throw root.get("nodes").error("lists no node");
        }
        NodeId source = root.has("source") ? NodeId.of(root.get("source").text()) : NodeId.of("gateway");
        Set<NodeId> known = new HashSet<>(ids);
        known.add(source);
        List<Link> links = new ArrayList<>();
        Set<String> pairs = new HashSet<>();
        if (root.has("links")) {
            for (ConfigNode l : root.get("links").list()) {
                l.only(LINK);
                NodeId from = endpoint(l, "from", known, source);
                NodeId to = endpoint(l, "to", known, source);
                if (from.equals(to)) {
                    throw l.error("links a node to itself");
                }
                if (!pairs.add(from + "\u0000" + to)) {
                    throw l.error("link " + from + " -> " + to + " appears twice");
                }
                double latency = l.has("latency-ms") ? l.get("latency-ms").nonNegative() : 0;
                links.add(new Link(from, to, l.get("bandwidth").bandwidth(), latency));
            }
        }
        boolean symmetric = !root.has("symmetric-links") || root.get("symmetric-links").node().asBoolean(true);
        if (symmetric) {
            links = ClusterSnapshot.bothWays(links);
        }
        Map<String, PrivacyClass> classes = new TreeMap<>();
        if (root.has("privacy-classes")) {
            ConfigNode pc = root.get("privacy-classes");
            if (!pc.node().isObject()) {
                throw pc.error("must map class names to lists of zones");
            }
            for (var it = pc.node().fieldNames(); it.hasNext(); ) {
                String cls = it.next();
                Set<String> allowed = new java.util.TreeSet<>();
                for (ConfigNode z : pc.get(cls).list()) {
                    String zone = z.text();
                    if (!zones.contains(zone)) {
                        throw z.error("zone '" + zone + "' is unknown: no node is in it (zones: "
                                + new java.util.TreeSet<>(zones) + ")");
                    }
                    allowed.add(zone);
                }
                if (allowed.isEmpty()) {
                    throw pc.get(cls).error("allows no zone");
                }
                classes.put(cls, new PrivacyClass(cls, allowed));
            }
        }
        Policy policy = root.has("policy") ? policy(root.get("policy"), classes) : Policy.of(Objective.LATENCY);
        return new ClusterFile(name, source, nodes, links, classes, policy,
                root.has("orchestrator") ? root.get("orchestrator") : null);
    }

    private static NodeId endpoint(ConfigNode l, String field, Set<NodeId> known, NodeId source) {
        NodeId id = NodeId.of(l.get(field).text());
        if (!known.contains(id)) {
            throw l.get(field).error("unknown node '" + id + "' (nodes: " + new java.util.TreeSet<>(known) + ")");
        }
        return id;
    }

    private static NodeSpec node(ConfigNode n, Path base) {
        n.only(NODE);
        NodeId id = NodeId.of(n.get("name").text());
        String zone = n.has("zone") ? n.get("zone").text() : "default";
        long memory = n.get("memory").bytes();
        int cores = n.has("cores") ? n.get("cores").positiveInt() : 1;
        PowerModel power = new PowerModel(0, 0);
        if (n.has("power")) {
            ConfigNode p = n.get("power");
            p.only(Set.of("idle-watts", "busy-watts"));
            double idle = p.get("idle-watts").nonNegative();
            double busy = p.get("busy-watts").nonNegative();
            if (busy < idle) {
                throw p.error("busy-watts (" + busy + ") is below idle-watts (" + idle + ")");
            }
            power = new PowerModel(idle, busy);
        }
        double cost = n.has("cost-per-hour") ? n.get("cost-per-hour").nonNegative() : 0;
        Times times;
        if (n.has("gflops") == n.has("profile")) {
            throw n.error("needs exactly one of 'profile' (a measured profile file, or 'measure') and 'gflops'");
        }
        if (n.has("profile")) {
            String p = n.get("profile").text();
            double speed = n.has("speed") ? n.get("speed").positive() : 1.0;
            times = new Measured(p.equals("measure") ? null : base.resolve(p), speed);
        } else {
            ConfigNode g = n.get("gflops");
            Map<Integer, Double> rates = new TreeMap<>();
            if (g.node().isNumber()) {
                rates.put(1, g.positive());
            } else {
                if (!g.node().isObject()) {
                    throw g.error("must be a number or map thread counts to GFLOP/s");
                }
                for (var it = g.node().fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    int threads;
                    try {
                        threads = Integer.parseInt(k);
                    } catch (NumberFormatException e) {
                        throw g.error("key '" + k + "' must be a thread count");
                    }
                    if (threads < 1 || threads > cores) {
                        throw g.error("thread count " + threads + " is outside 1.." + cores + " (the node's cores)");
                    }
                    rates.put(threads, g.get(k).positive());
                }
            }
            times = new Analytic(rates, n.has("overhead-ms") ? n.get("overhead-ms").nonNegative() : 0);
        }
        return new NodeSpec(id, zone, memory, cores, power, cost, times);
    }

    /** A policy section (as under {@code policy:}), its privacy class one of {@code classes}. */
    public static Policy policy(ConfigNode p, Map<String, PrivacyClass> classes) {
        p.only(POLICY);
        Objective objective = p.has("objective") ? objective(p.get("objective")) : Objective.LATENCY;
        Policy policy = Policy.of(objective);
        if (p.has("weights")) {
            ConfigNode w = p.get("weights");
            if (objective != Objective.WEIGHTED) {
                throw w.error("weights apply to objective 'weighted' only, not '" + objective.name().toLowerCase() + "'");
            }
            w.only(Set.of("latency-per-ms", "energy-per-joule", "cost"));
            policy = policy.withWeights(new Policy.Weights(
                    w.has("latency-per-ms") ? w.get("latency-per-ms").nonNegative() : 0,
                    w.has("energy-per-joule") ? w.get("energy-per-joule").nonNegative() : 0,
                    w.has("cost") ? w.get("cost").nonNegative() : 0));
        }
        if (p.has("latency-slo-ms")) {
            policy = policy.withSlo(p.get("latency-slo-ms").positive());
        }
        if (p.has("min-throughput-rps")) {
            policy = policy.withMinThroughput(p.get("min-throughput-rps").positive());
        }
        if (p.has("max-stages")) {
            policy = policy.withMaxStages(p.get("max-stages").positiveInt());
        }
        if (p.has("kv-tokens")) {
            policy = policy.withKvTokens((long) p.get("kv-tokens").nonNegative());
        }
        if (p.has("privacy-class")) {
            String c = p.get("privacy-class").text();
            PrivacyClass pc = classes.get(c);
            if (pc == null) {
                throw p.get("privacy-class").error("unknown privacy class '" + c + "' (classes: " + classes.keySet() + ")");
            }
            policy = policy.withPrivacy(pc);
        }
        return policy;
    }

    public static Objective objective(ConfigNode n) {
        try {
            return Objective.parse(n.text());
        } catch (EdgeSplitException e) {
            throw n.error(e.getMessage());
        }
    }

    /** The snapshot the planner sees, with block times resolved for this model. */
    public ClusterSnapshot snapshot(ModelProfile model, long unitsPerRequest, Function<Measured, Map<Integer, double[]>> measure) {
        List<NodeProfile> profiles = new ArrayList<>();
        for (NodeSpec n : nodes) {
            Map<Integer, double[]> times = switch (n.times()) {
                case Measured m -> measure.apply(m);
                case Analytic a -> analytic(model, unitsPerRequest, a);
            };
            Map<Integer, double[]> usable = new LinkedHashMap<>();
            for (var e : times.entrySet()) {
                if (e.getKey() <= n.cores()) {
                    usable.put(e.getKey(), e.getValue());
                }
            }
            if (usable.isEmpty()) {
                throw new EdgeSplitException(ErrorCode.CONFIG_INVALID, "node " + n.id() + " has no profile at a thread count"
                        + " within its " + n.cores() + " cores (profiled: " + times.keySet() + ")");
            }
            profiles.add(new NodeProfile(n.id(), n.zone(), n.memoryBytes(), n.cores(), n.power(), n.costPerHour(), usable));
        }
        return new ClusterSnapshot(profiles, links, source);
    }

    static Map<Integer, double[]> analytic(ModelProfile model, long units, Analytic a) {
        Map<Integer, double[]> out = new TreeMap<>();
        for (var e : a.gflops().entrySet()) {
            double[] t = new double[model.blockCount()];
            for (int b = 0; b < t.length; b++) {
                t[b] = model.blocks().get(b).flopsPerUnit() * units / (e.getValue() * 1e9) * 1000.0 + a.overheadMs();
            }
            out.put(e.getKey(), t);
        }
        return out;
    }

    public List<NodeId> emulatedNodes() {
        return nodes.stream().filter(NodeSpec::emulated).map(NodeSpec::id).toList();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
