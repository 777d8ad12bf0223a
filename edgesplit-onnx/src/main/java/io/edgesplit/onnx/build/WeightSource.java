package io.edgesplit.onnx.build;

/**
 * Where a model builder gets its weights: a checkpoint file or a seeded generator. Names and
 * shapes are the builder's canonical ones (linear weights as [out, in], like PyTorch).
 */
public interface WeightSource {

    /**
     * The tensor's values in row-major order.
     *
     * @throws io.edgesplit.core.error.EdgeSplitException if it is missing or has another shape (named)
     */
    float[] tensor(String name, long... shape);

    /** True if the source has the tensor (for optional ones such as biases). */
    boolean has(String name);

    /** A linear layer's weight as [in, out], ready for {@code x @ W}. */
    default float[] linearForMatMul(String name, int out, int in) {
        return transpose(tensor(name, out, in), out, in);
    }

    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = w[base + c];
            }
        }
        return t;
    }
}
