package io.edgesplit.onnx.build;

/**
 * Transformer building blocks in plain ONNX ops (opset 17), shared by the synthetic decoder and
 * the checkpoint importers. Tensors are named by the builder; shapes in comments use
 * B (batch), S (new tokens), P (cached tokens), T = P + S, H (heads), Dh (head size), D (model size).
 */
public final class Layers {
    private Layers() {}

    /** x @ w (+ bias). */
    public static String linear(GraphBuilder g, String x, String w, String bias) {
        String y = g.op("MatMul").in(x, w).out();
        return bias == null ? y : g.op("Add").in(y, bias).out();
    }

    public static String layerNorm(GraphBuilder g, String x, String gamma, String beta, float epsilon) {
        return g.op("LayerNormalization").name("LayerNorm").in(x, gamma, beta)
                .attr("axis", -1L).attr("epsilon", epsilon).out();
    }

    /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
    public static String gelu(GraphBuilder g, String x) {
        String scaled = g.op("Mul").in(x, g.floatScalar("inv_sqrt2", (float) (1 / Math.sqrt(2)))).out();
        String erf = g.op("Erf").in(scaled).out();
        String onePlus = g.op("Add").in(erf, g.floatScalar("one", 1f)).out();
        String half = g.op("Mul").in(x, g.floatScalar("half", 0.5f)).out();
        return g.op("Mul").in(half, onePlus).out();
    }

    /** [B,S,H*Dh] -> [B,H,S,Dh]. */
    public static String splitHeads(GraphBuilder g, String x, long heads, long headDim) {
        String r = g.op("Reshape").in(x, g.int64(0, 0, heads, headDim)).out();
        return g.op("Transpose").in(r).attr("perm", new long[] {0, 2, 1, 3}).out();
    }

    /** [B,H,S,Dh] -> [B,S,H*Dh]. */
    public static String mergeHeads(GraphBuilder g, String x, long dim) {
        String t = g.op("Transpose").in(x).attr("perm", new long[] {0, 2, 1, 3}).out();
        return g.op("Reshape").in(t, g.int64(0, 0, dim)).out();
    }

    /**
     * Causal scaled dot-product attention of new queries over cached plus new keys:
     * query i (absolute position P+i) sees keys 0..P+i.
     *
     * @param q [B,H,S,Dh]
     * @param k all keys [B,H,T,Dh]
     * @param v all values [B,H,T,Dh]
     * @return [B,H,S,Dh]
     */
    public static String causalAttention(GraphBuilder g, String q, String k, String v, float scale) {
        String kt = g.op("Transpose").in(k).attr("perm", new long[] {0, 1, 3, 2}).out();
        String scores = g.op("MatMul").in(q, kt).out();
        String scaled = g.op("Mul").in(scores, g.floatScalar("scale", scale)).out();
        String masked = g.op("Add").in(scaled, causalMask(g, q, k)).out();
        String probs = g.op("Softmax").in(masked).attr("axis", -1L).out();
        return g.op("MatMul").in(probs, v).out();
    }

    /** Additive mask [S,T]: 0 where key j <= P + i, -inf after. */
    static String causalMask(GraphBuilder g, String q, String k) {
        g.push("mask");
        String total = g.op("Gather").in(g.op("Shape").in(k).out(), g.int64Scalar(2)).attr("axis", 0L).out();
        String fresh = g.op("Gather").in(g.op("Shape").in(q).out(), g.int64Scalar(2)).attr("axis", 0L).out();
        String past = g.op("Sub").in(total, fresh).out();
        String rows = g.op("Range").in(past, total, g.int64Scalar(1)).out();
        String cols = g.op("Range").in(g.int64Scalar(0), total, g.int64Scalar(1)).out();
        String rowCol = g.op("Unsqueeze").in(rows, g.int64(1)).out();
        String future = g.op("Greater").in(cols, rowCol).out();
        String mask = g.op("Where").in(future, g.floatScalar("neg_inf", Float.NEGATIVE_INFINITY),
                g.floatScalar("zero", 0f)).out();
        g.pop();
        return mask;
    }
}
