package io.edgesplit.core.plan;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeId;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.cluster.PowerModel;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.BlockRole;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.core.model.ModelProfile;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Small builders for planner tests: {@code cluster().node("a", 4, 1.0).link(...).build()}. */
public final class TestClusters {
    private TestClusters() {}

    /** Blocks of equal weight, crossing bytes and FLOPs. */
    public static ModelProfile uniformModel(int blocks, long weightBytes, double crossingBytes) {
        List<BlockProfile> list = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            list.add(new BlockProfile(b, "layer." + b, BlockRole.LAYER, 1, weightBytes, 1e6, crossingBytes, 0));
        }
        return new ModelProfile("uniform", ModelKind.ENCODER, "sample", list, crossingBytes, crossingBytes);
    }

    public static Builder cluster() {
        return new Builder();
    }

    public static final class Builder {
        private final List<NodeProfile> nodes = new ArrayList<>();
        private final List<Link> links = new ArrayList<>();
        private NodeId source = NodeId.of("gateway");

        /** A one-core node in zone "edge" where every one of {@code blocks} blocks takes {@code msPerBlock}. */
        public Builder node(String name, int blocks, double msPerBlock, long memory) {
            return node(name, "edge", blocks, msPerBlock, memory);
        }

        public Builder node(String name, String zone, int blocks, double msPerBlock, long memory) {
            double[] times = new double[blocks];
            java.util.Arrays.fill(times, msPerBlock);
            nodes.add(new NodeProfile(NodeId.of(name), zone, memory, 1, new PowerModel(2, 10), 1.0, Map.of(1, times)));
            return this;
        }

        public Builder source(String name) {
            source = NodeId.of(name);
            return this;
        }

        /** Links both ways between every pair of nodes and the source. */
        public Builder fullMesh(double bytesPerS, double latencyMs) {
            List<NodeId> all = new ArrayList<>(nodes.stream().map(NodeProfile::id).toList());
            if (!all.contains(source)) {
                all.add(source);
            }
            for (NodeId a : all) {
                for (NodeId b : all) {
                    if (!a.equals(b)) {
                        links.add(new Link(a, b, bytesPerS, latencyMs));
                    }
                }
            }
            return this;
        }

        public ClusterSnapshot build() {
            return new ClusterSnapshot(nodes, links, source);
        }
    }
}
