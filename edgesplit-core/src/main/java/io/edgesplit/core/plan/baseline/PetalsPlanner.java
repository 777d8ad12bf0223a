package io.edgesplit.core.plan.baseline;

import io.edgesplit.core.cluster.ClusterSnapshot;
import io.edgesplit.core.cluster.NodeProfile;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.core.plan.Policy;
import io.edgesplit.core.plan.Stage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Petals-style spans: each server serves as many consecutive blocks as its measured throughput
 * earns it (span length proportional to blocks per second), capped by what fits in its memory,
 * fastest servers first; the cap's remainder goes to the next servers.
 */
public final class PetalsPlanner extends BaselinePlanner {
    public static final String NAME = "petals";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    List<List<Stage>> propose(ModelProfile model, ClusterSnapshot cluster, Policy policy, List<NodeProfile> nodes) {
        int blocks = model.blockCount();
        List<NodeProfile> servers = nodes.stream()
                .sorted(Comparator.comparingDouble((NodeProfile n) -> totalMs(n, blocks)).thenComparing(NodeProfile::id))
                .limit(policy.maxStages())
                .toList();
        double[] throughput = servers.stream().mapToDouble(n -> blocks / Math.max(1e-9, totalMs(n, blocks))).toArray();
        int[] spans = proportional(blocks, throughput);
        // cap each span by memory, in pipeline order, and hand the rest to the servers after it
        List<Long> need = new ArrayList<>();
        for (BlockProfile b : model.blocks()) {
            need.add(b.weightBytes() + (long) Math.ceil(policy.kvTokens() * b.kvBytesPerToken()));
        }
        int next = 0;
        int carry = 0;
        for (int i = 0; i < servers.size(); i++) {
            int want = spans[i] + carry;
            int fit = 0;
            long used = 0;
            while (fit < want && next + fit < blocks && used + need.get(next + fit) <= servers.get(i).memoryBytes()) {
                used += need.get(next + fit);
                fit++;
            }
            carry = want - fit;
            spans[i] = fit;
            next += fit;
        }
        if (carry > 0) {
            spans[servers.size() - 1] += carry; // nobody had room: the plan will fail its memory check
        }
        return List.of(spans(servers, spans));
    }

    private static double totalMs(NodeProfile n, int blocks) {
        double sum = 0;
        for (int b = 0; b < blocks; b++) {
            sum += n.blockTime(threads(n), b);
        }
        return sum;
    }
}
