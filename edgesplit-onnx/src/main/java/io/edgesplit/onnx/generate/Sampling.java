package io.edgesplit.onnx.generate;

import io.edgesplit.core.error.EdgeSplitException;

/**
 * How the next token is chosen: greedy at temperature 0, else sampled from the softmax of
 * logits / temperature, restricted to the top-k tokens (0: all) and to the smallest set whose
 * probability reaches top-p (1: all). The seed makes sampling repeatable.
 */
public record Sampling(double temperature, int topK, double topP, long seed) {
    public Sampling {
        if (!(temperature >= 0) || temperature > 100) {
            throw EdgeSplitException.invalidArgument("--temperature must be between 0 and 100: " + temperature);
        }
        if (topK < 0) {
            throw EdgeSplitException.invalidArgument("--top-k must be >= 0: " + topK);
        }
        if (!(topP > 0) || topP > 1) {
            throw EdgeSplitException.invalidArgument("--top-p must be in (0, 1]: " + topP);
        }
    }

    public static Sampling greedy() {
        return new Sampling(0, 0, 1, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
