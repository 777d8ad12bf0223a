package io.edgesplit.onnx.build;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;

/**
 * Shape of a GPT-2 decoder (Hugging Face {@code GPT2LMHeadModel}): learned positions, pre-norm
 * LayerNorm blocks, fused q/k/v projection, tanh GELU, LM head tied to the token embedding.
 */
public record Gpt2Config(int vocab, int dim, int layers, int heads, int ffn, int maxPositions, float normEps,
        String weightsNote) {
    public Gpt2Config {
        if (vocab < 2 || dim < 1 || layers < 1 || heads < 1 || ffn < 1 || maxPositions < 1) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "model sizes must be positive: " + this);
        }
        if (dim % heads != 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "dim " + dim + " is not a multiple of heads " + heads);
        }
    }

    /** GPT-2 small: 124M parameters. */
    public static Gpt2Config small(String weightsNote) {
        return new Gpt2Config(50257, 768, 12, 12, 3072, 1024, 1e-5f, weightsNote);
    }

    public int headDim() {
        return dim / heads;
    }

    public long parameters() {
        long perLayer = 4L * dim + (long) dim * 3 * dim + 3L * dim + (long) dim * dim + dim
                + 2L * dim * ffn + ffn + dim;
        return (long) vocab * dim + (long) maxPositions * dim + layers * perLayer + 2L * dim;
    }
}
