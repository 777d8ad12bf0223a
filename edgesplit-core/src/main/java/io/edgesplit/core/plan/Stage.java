package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.model.BlockRange;
import java.util.Objects;

/** One stage of a plan: a node runs blocks first..last with a thread count, in some replicas. */
public record Stage(NodeId node, int firstBlock, int lastBlock, int threads, int replicas) {
    public Stage {
        Objects.requireNonNull(node, "node == null");
        if (firstBlock < 0 || lastBlock < firstBlock) {
            throw new IllegalArgumentException("bad block range " + firstBlock + "-" + lastBlock);
        }
        if (threads < 1 || replicas < 1) {
            throw new IllegalArgumentException("threads and replicas must be >= 1");
        }
    }

    public BlockRange range() {
        return new BlockRange(firstBlock, lastBlock);
    }
}
