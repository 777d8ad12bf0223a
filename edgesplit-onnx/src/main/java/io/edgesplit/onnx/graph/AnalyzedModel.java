package io.edgesplit.onnx.graph;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.onnx.load.LoadedModel;
import java.util.List;
import java.util.Objects;

/**
 * A model with its blocks, cut points and profile. Immutable.
 *
 * @param noCutReason why the model is a single block, or null when it has cuts
 */
public record AnalyzedModel(
        LoadedModel model,
        GraphIndex index,
        ShapeProbe.Result probe,
        ModelKind kind,
        List<Block> blocks,
        List<CutPoint> cuts,
        List<StatePair> state,
        ModelProfile profile,
        String noCutReason) {

    public AnalyzedModel {
        Objects.requireNonNull(model, "model == null");
        blocks = List.copyOf(blocks);
        cuts = List.copyOf(cuts);
        state = List.copyOf(state);
    }

    public String name() {
        return model.name();
    }

    public int blockCount() {
        return blocks.size();
    }

    public BlockRange all() {
        return new BlockRange(0, blocks.size() - 1);
    }

    /** Activations crossing the cut in front of block {@code index} (empty for block 0). */
    public List<String> crossingBefore(int blockIndex) {
        return blockIndex == 0 ? List.of() : cuts.get(blockIndex - 1).crossing();
    }

    /** Activations crossing the cut after block {@code index} (empty for the last block). */
    public List<String> crossingAfter(int blockIndex) {
        return blockIndex == blocks.size() - 1 ? List.of() : cuts.get(blockIndex).crossing();
    }

    /** Fails with {@link ErrorCode#NO_VALID_CUT} when the model cannot be split. */
    public void requireCuts() {
        if (cuts.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.NO_VALID_CUT,
                    name() + " has no valid cut: " + noCutReason);
        }
    }
}
