package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.Link;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.ArrayList;
import java.util.List;

/**
 * Neurosurgeon (Kang et al., ASPLOS 2017): one cut between the device where requests start and
 * one server, at the layer that serves the objective best; the whole model on either side is
 * allowed. The device is the source when it computes, else the compute node closest to it.
 */
public final class NeurosurgeonPlanner extends BaselinePlanner {
    public static final String NAME = "neurosurgeon";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes) {
        NodeProfile device = null;
        double closest = Double.POSITIVE_INFINITY;
        for (NodeProfile n : nodes) {
            if (n.id().equals(cluster.source())) {
                device = n;
                break;
            }
            Link l = cluster.link(cluster.source(), n.id());
            if (l != null && l.latencyMs() < closest) {
                closest = l.latencyMs();
                device = n;
            }
        }
        if (device == null) {
            return List.of();
        }
        int blocks = model.blockCount();
        List<List<Stage>> out = new ArrayList<>();
        out.add(List.of(stage(device, 0, blocks - 1)));
        for (NodeProfile server : nodes) {
            if (server == device) {
                continue;
            }
            out.add(List.of(stage(server, 0, blocks - 1)));
            for (int cut = 1; cut < blocks; cut++) {
                out.add(List.of(stage(device, 0, cut - 1), stage(server, cut, blocks - 1)));
            }
        }
        return out;
    }
}
