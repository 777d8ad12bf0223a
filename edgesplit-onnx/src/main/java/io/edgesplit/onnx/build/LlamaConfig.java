package io.edgesplit.onnx.build;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;

/**
 * Shape and variant of a Llama-family decoder (Llama 2/3, Mistral-style and Qwen2-style configs,
 * llama2.c).
 *
 * @param ropeScaling null for none
 * @param tiedEmbeddings the LM head reuses the token embedding
 * @param attentionBias q/k/v projections have biases (Qwen2)
 * @param weightsNote what the weights are, shown wherever the model is ("random weights", a path)
 */
public record LlamaConfig(
        int vocab,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int ffn,
        int maxPositions,
        double ropeTheta,
        Layers.RopeStyle ropeStyle,
        RopeScaling ropeScaling,
        float normEps,
        boolean tiedEmbeddings,
        boolean attentionBias,
        String weightsNote) {

    /** Llama 3 style frequency scaling, or linear position scaling. */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositions) {}

    public LlamaConfig {
        if (vocab < 2 || dim < 1 || layers < 1 || heads < 1 || kvHeads < 1 || ffn < 1 || maxPositions < 1) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "model sizes must be positive: " + this);
        }
        if (dim % heads != 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "dim " + dim + " is not a multiple of heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID,
                    "heads " + heads + " is not a multiple of kv heads " + kvHeads);
        }
        if ((dim / heads) % 2 != 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "head size " + dim / heads + " must be even for RoPE");
        }
    }

    public int headDim() {
        return dim / heads;
    }

    public long parameters() {
        long hd = headDim();
        long perLayer = 2L * dim + (long) dim * heads * hd + 2L * dim * kvHeads * hd + (long) heads * hd * dim
                + 3L * dim * ffn;
        return (long) vocab * dim * (tiedEmbeddings ? 1 : 2) + layers * perLayer + dim;
    }

    /** Inverse frequencies of the rotary embedding, scaled as configured. */
    public double[] inverseFrequencies() {
        int half = headDim() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim());
        }
        if (ropeScaling == null) {
            return inv;
        }
        switch (ropeScaling.type()) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= ropeScaling.factor();
                }
            }
            case "llama3" -> {
                double lowWavelen = ropeScaling.originalMaxPositions() / ropeScaling.lowFreqFactor();
                double highWavelen = ropeScaling.originalMaxPositions() / ropeScaling.highFreqFactor();
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] /= ropeScaling.factor();
                    } else if (wavelen >= highWavelen) {
                        double smooth = (ropeScaling.originalMaxPositions() / wavelen - ropeScaling.lowFreqFactor())
                                / (ropeScaling.highFreqFactor() - ropeScaling.lowFreqFactor());
                        inv[i] = (1 - smooth) * inv[i] / ropeScaling.factor() + smooth * inv[i];
                    }
                }
            }
            default -> throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "rope_scaling type '" + ropeScaling.type() + "' is not supported (supported: linear, llama3)");
        }
        return inv;
    }
}
