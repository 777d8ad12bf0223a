package io.edgesplit.core.model;

import java.util.List;
import java.util.Objects;

/**
 * Static profile of a model cut into blocks.
 *
 * @param model the model's name
 * @param kind encoder, decoder or plain graph
 * @param unit what the per-unit figures count: {@code token} or {@code sample}
 * @param blocks the blocks in order; block i has index i
 * @param inputBytesPerUnit bytes of the model's inputs (ids, masks) per unit, sent to the first stage
 * @param outputBytesPerUnit bytes of the model's outputs per unit, returned by the last stage
 */
public record ModelProfile(String model, ModelKind kind, String unit, List<BlockProfile> blocks,
        double inputBytesPerUnit, double outputBytesPerUnit) {

    public ModelProfile {
        Objects.requireNonNull(model, "model == null");
        Objects.requireNonNull(kind, "kind == null");
        Objects.requireNonNull(unit, "unit == null");
        blocks = List.copyOf(Objects.requireNonNull(blocks, "blocks == null"));
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("blocks is empty");
        }
        if (!(inputBytesPerUnit >= 0) || !(outputBytesPerUnit >= 0)) {
            throw new IllegalArgumentException("input and output bytes per unit must be >= 0");
        }
        for (int i = 0; i < blocks.size(); i++) {
            if (blocks.get(i).index() != i) {
                throw new IllegalArgumentException(
                        "blocks[" + i + "].index is " + blocks.get(i).index() + ", expected " + i);
            }
        }
    }

    public ModelProfile(String model, ModelKind kind, String unit, List<BlockProfile> blocks) {
        this(model, kind, unit, blocks, 0, 0);
    }

    public int blockCount() {
        return blocks.size();
    }

    public long totalWeightBytes() {
        return blocks.stream().mapToLong(BlockProfile::weightBytes).sum();
    }

    public double totalFlopsPerUnit() {
        return blocks.stream().mapToDouble(BlockProfile::flopsPerUnit).sum();
    }
}
