package io.edgesplit.onnx.graph;

import io.edgesplit.core.model.BlockRole;
import java.util.List;
import java.util.Objects;

/**
 * One block of an analyzed model: the graph nodes at positions {@code [startNode, endNode)} of
 * the topological order, plus any constant-only nodes it needs from elsewhere.
 *
 * @param inputs tensors it reads from outside: graph inputs and earlier blocks' outputs
 * @param outputs tensors it produces that later blocks read, and graph outputs
 * @param state the KV-cache pairs whose past and present both live in this block
 */
public record Block(
        int index,
        String name,
        BlockRole role,
        int startNode,
        int endNode,
        List<String> inputs,
        List<String> outputs,
        List<StatePair> state) {

    public Block {
        Objects.requireNonNull(name, "name == null");
        Objects.requireNonNull(role, "role == null");
        if (startNode < 0 || endNode <= startNode) {
            throw new IllegalArgumentException("bad node range [" + startNode + ", " + endNode + ")");
        }
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        state = List.copyOf(state);
    }
}
