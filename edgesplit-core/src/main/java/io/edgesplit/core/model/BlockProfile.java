package io.edgesplit.core.model;

import java.util.Objects;

/**
 * Static profile of one block, per unit of work (a token for sequence models, a sample otherwise).
 *
 * @param index position of the block in the model, from 0
 * @param name stable name, e.g. {@code layer.3}
 * @param role what the block stands for
 * @param nodeCount graph nodes in the block (duplicated constants excluded)
 * @param weightBytes bytes of the weights the block needs
 * @param flopsPerUnit floating point operations per unit
 * @param crossingBytesPerUnit bytes that leave the block towards later blocks, per unit
 * @param kvBytesPerToken bytes of KV cache the block adds per token (0 for stateless blocks)
 */
public record BlockProfile(
        int index,
        String name,
        BlockRole role,
        int nodeCount,
        long weightBytes,
        double flopsPerUnit,
        double crossingBytesPerUnit,
        double kvBytesPerToken) {

    public BlockProfile {
        if (index < 0) {
            throw new IllegalArgumentException("index < 0: " + index);
        }
        Objects.requireNonNull(name, "name == null");
        Objects.requireNonNull(role, "role == null");
        if (nodeCount < 0) {
            throw new IllegalArgumentException("nodeCount < 0: " + nodeCount);
        }
        if (weightBytes < 0) {
            throw new IllegalArgumentException("weightBytes < 0: " + weightBytes);
        }
        if (!(flopsPerUnit >= 0)) {
            throw new IllegalArgumentException("flopsPerUnit must be >= 0: " + flopsPerUnit);
        }
        if (!(crossingBytesPerUnit >= 0)) {
            throw new IllegalArgumentException("crossingBytesPerUnit must be >= 0: " + crossingBytesPerUnit);
        }
        if (!(kvBytesPerToken >= 0)) {
            throw new IllegalArgumentException("kvBytesPerToken must be >= 0: " + kvBytesPerToken);
        }
    }
}
