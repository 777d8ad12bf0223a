package io.edgesplit.onnx.graph;

import java.util.List;

/**
 * A place where the model is cut between two blocks.
 *
 * @param afterBlock index of the block before the cut
 * @param position index of the first node after the cut, in topological order
 * @param crossing the activations that cross it (constants are duplicated, graph inputs are fed directly)
 * @param bytesPerUnit bytes crossing per token or sample
 */
public record CutPoint(int afterBlock, int position, List<String> crossing, double bytesPerUnit) {
    public CutPoint {
        crossing = List.copyOf(crossing);
    }
}
