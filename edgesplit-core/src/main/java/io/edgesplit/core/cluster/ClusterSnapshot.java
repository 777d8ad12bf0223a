package io.edgesplit.core.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The cluster as the planner sees it at one moment: nodes with their profiles, links between them,
 * and the node requests come from (the gateway; it may also be a compute node). Nodes are kept in
 * id order. A missing link means the two nodes cannot talk directly.
 */
public record ClusterSnapshot(List<NodeProfile> nodes, List<Link> links, NodeId source) {

    public ClusterSnapshot {
        Objects.requireNonNull(source, "source == null");
        List<NodeProfile> sorted = new ArrayList<>(nodes);
        sorted.sort((a, b) -> a.id().compareTo(b.id()));
        nodes = List.copyOf(sorted);
        links = List.copyOf(links);
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
        }
    }

    /** The link from a to b, or null when there is none; a node talks to itself for free. */
    public Link link(NodeId a, NodeId b) {
        for (Link l : links) {
            if (l.from().equals(a) && l.to().equals(b)) {
                return l;
            }
        }
        return null;
    }

    public NodeProfile node(NodeId id) {
        for (NodeProfile n : nodes) {
            if (n.id().equals(id)) {
                return n;
            }
        }
        return null;
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
