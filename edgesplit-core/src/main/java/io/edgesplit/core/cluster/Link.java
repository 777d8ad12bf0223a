package io.edgesplit.core.cluster;

import java.util.Objects;

/** Measured (or emulated) bandwidth and one-way latency from one node to another. */
public record Link(NodeId from, NodeId to, double bandwidthBytesPerS, double latencyMs) {
    public Link {
        Objects.requireNonNull(from, "from == null");
        Objects.requireNonNull(to, "to == null");
        if (!(bandwidthBytesPerS > 0) || Double.isInfinite(bandwidthBytesPerS)) {
            throw new IllegalArgumentException("link " + from + "->" + to + ": bandwidth must be > 0 and finite, not "
                    + bandwidthBytesPerS);
        }
        if (!(latencyMs >= 0) || Double.isInfinite(latencyMs)) {
            throw new IllegalArgumentException("link " + from + "->" + to + ": latency must be >= 0, not " + latencyMs);
        }
    }

    /** Milliseconds to send {@code bytes}: latency plus bytes / bandwidth. */
    public double transferMs(double bytes) {
        return latencyMs + occupancyMs(bytes);
    }

    /** Milliseconds the link is busy with {@code bytes} (what limits a pipeline's rate). */
    public double occupancyMs(double bytes) {
        return bytes / bandwidthBytesPerS * 1000.0;
    }
}
