package io.edgesplit.core.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The cluster as the planner sees it at one moment: nodes with their profiles, links between them,
 * and the node requests come from (the gateway; it may also be a compute node). Nodes are kept in
 * id order. A missing link means the two nodes cannot talk directly.
 */
public final class ClusterSnapshot {
    private final List<NodeProfile> nodes;
    private final List<Link> links;
    private final NodeId source;
    private final Map<NodeId, NodeProfile> byId = new HashMap<>();
    private final Map<NodeId, Map<NodeId, Link>> linkIndex = new HashMap<>();

    public ClusterSnapshot(List<NodeProfile> nodes, List<Link> links, NodeId source) {
        this.source = Objects.requireNonNull(source, "source == null");
        List<NodeProfile> sorted = new ArrayList<>(nodes);
        sorted.sort((a, b) -> a.id().compareTo(b.id()));
        this.nodes = List.copyOf(sorted);
        this.links = List.copyOf(links);
        nodes = this.nodes;
        links = this.links;
        Set<NodeId> known = new HashSet<>();
        for (NodeProfile n : nodes) {
            if (!known.add(n.id())) {
                throw new IllegalArgumentException("node " + n.id() + " appears twice");
            }
        }
        known.add(source);
        Set<String> pairs = new HashSet<>();
        for (Link l : links) {
            if (!known.contains(l.from())) {
                throw new IllegalArgumentException("link " + l.from() + "->" + l.to() + " names unknown node " + l.from());
            }
            if (!known.contains(l.to())) {
                throw new IllegalArgumentException("link " + l.from() + "->" + l.to() + " names unknown node " + l.to());
            }
            if (!pairs.add(l.from() + "\u0000" + l.to())) {
                throw new IllegalArgumentException("link " + l.from() + "->" + l.to() + " appears twice");
            }
            linkIndex.computeIfAbsent(l.from(), k -> new HashMap<>()).put(l.to(), l);
        }
        for (NodeProfile n : nodes) {
            byId.put(n.id(), n);
        }
    }

    /** Nodes in id order. */
    public List<NodeProfile> nodes() {
        return nodes;
    }

    public List<Link> links() {
        return links;
    }

    /** Where requests come from and results go back to. */
    public NodeId source() {
        return source;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterSnapshot c && c.nodes.equals(nodes) && c.links.equals(links) && c.source.equals(source);
    }

    @Override
    public int hashCode() {
        return Objects.hash(nodes, links, source);
    }

    @Override
    public String toString() {
        return "ClusterSnapshot[" + nodes.size() + " nodes, " + links.size() + " links, source " + source + "]";
    }

    /** The link from a to b, or null when there is none; a node talks to itself for free. */
    public Link link(NodeId a, NodeId b) {
        Map<NodeId, Link> from = linkIndex.get(a);
        return from == null ? null : from.get(b);
    }

    /** The node with this id, or null. */
    public NodeProfile node(NodeId id) {
        return byId.get(id);
    }

    /** Links symmetric in both directions, a convenience for cluster files that list each pair once. */
    public static List<Link> bothWays(List<Link> links) {
        List<Link> out = new ArrayList<>(links);
        Set<String> have = new HashSet<>();
        for (Link l : links) {
            have.add(l.from() + "\u0000" + l.to());
        }
        for (Link l : links) {
            if (!have.contains(l.to() + "\u0000" + l.from())) {
                out.add(new Link(l.to(), l.from(), l.bandwidthBytesPerS(), l.latencyMs()));
            }
        }
        return out;
    }
}
