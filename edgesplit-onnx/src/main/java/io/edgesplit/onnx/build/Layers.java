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

    /** Additive mask [S,T] from q [..,S,Dh] and k [..,T,Dh]: 0 where key j <= P + i, -inf after. */
    static String causalMask(GraphBuilder g, String q, String k) {
        g.push("mask");
        String total = g.op("Gather").in(g.op("Shape").in(k).out(), g.int64Scalar(-2)).attr("axis", 0L).out();
        String fresh = g.op("Gather").in(g.op("Shape").in(q).out(), g.int64Scalar(-2)).attr("axis", 0L).out();
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

    /**
     * Causal attention with grouped KV heads: {@code heads} query heads share {@code kvHeads} key/value
     * heads (query head h reads KV head h / (heads / kvHeads)). The KV heads are broadcast, not copied.
     *
     * @param q [B,H,S,Dh]
     * @param k [B,KV,T,Dh]
     * @param v [B,KV,T,Dh]
     * @return [B,H,S,Dh]
     */
    public static String groupedCausalAttention(GraphBuilder g, String q, String k, String v, long heads, long kvHeads,
            long headDim, float scale) {
        if (heads == kvHeads) {
            return causalAttention(g, q, k, v, scale);
        }
        long group = heads / kvHeads;
        String q5 = g.op("Reshape").in(q, g.int64(0, kvHeads, group, -1, headDim)).out();
        String k5 = g.op("Unsqueeze").in(k, g.int64(2)).out();
        String v5 = g.op("Unsqueeze").in(v, g.int64(2)).out();
        String kt = g.op("Transpose").in(k5).attr("perm", new long[] {0, 1, 2, 4, 3}).out();
        String scores = g.op("MatMul").in(q5, kt).out();
        String scaled = g.op("Mul").in(scores, g.floatScalar("scale", scale)).out();
        String masked = g.op("Add").in(scaled, causalMask(g, q, k)).out();
        String probs = g.op("Softmax").in(masked).attr("axis", -1L).out();
        String out5 = g.op("MatMul").in(probs, v5).out();
        return g.op("Reshape").in(out5, g.int64(0, heads, -1, headDim)).out();
    }

    /** How rotary embeddings pair up the dimensions of a head. */
    public enum RopeStyle {
        /** Pairs (0,1), (2,3), ...: Meta's and llama2.c's layout. */
        INTERLEAVED,
        /** Pairs (i, i + Dh/2): Hugging Face's rotate_half layout. */
        HALF
    }

    /**
     * Rotary position embedding of x [B,S,H,Dh] at the given positions [B,S], with precomputed
     * tables cos/sin [maxPositions, Dh/2].
     */
    public static String rope(GraphBuilder g, String x, String cos, String sin, String positions, long heads,
            long headDim, RopeStyle style) {
        g.push("rope");
        long half = headDim / 2;
        String c = g.op("Gather").in(cos, positions).attr("axis", 0L).out();
        String s = g.op("Gather").in(sin, positions).attr("axis", 0L).out();
        String out;
        if (style == RopeStyle.INTERLEAVED) {
            // [B,S,1,Dh/2,1] against x as [B,S,H,Dh/2,2]
            String c5 = g.op("Unsqueeze").in(c, g.int64(2, 4)).out();
            String s5 = g.op("Unsqueeze").in(s, g.int64(2, 4)).out();
            String x5 = g.op("Reshape").in(x, g.int64(0, 0, heads, half, 2)).out();
            String[] parts = g.op("Split").in(x5, g.int64(1, 1)).attr("axis", -1L).outs(2);
            String even = g.op("Sub").in(g.op("Mul").in(parts[0], c5).out(), g.op("Mul").in(parts[1], s5).out()).out();
            String odd = g.op("Add").in(g.op("Mul").in(parts[0], s5).out(), g.op("Mul").in(parts[1], c5).out()).out();
            String joined = g.op("Concat").in(even, odd).attr("axis", -1L).out();
            out = g.op("Reshape").in(joined, g.int64(0, 0, heads, headDim)).out();
        } else {
            String c4 = g.op("Unsqueeze").in(c, g.int64(2)).out();
            String s4 = g.op("Unsqueeze").in(s, g.int64(2)).out();
            String[] parts = g.op("Split").in(x, g.int64(half, half)).attr("axis", -1L).outs(2);
            String first = g.op("Sub").in(g.op("Mul").in(parts[0], c4).out(), g.op("Mul").in(parts[1], s4).out()).out();
            String second = g.op("Add").in(g.op("Mul").in(parts[1], c4).out(), g.op("Mul").in(parts[0], s4).out()).out();
            out = g.op("Concat").in(first, second).attr("axis", -1L).out();
        }
        g.pop();
        return out;
    }

    /** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
    public static String rmsNorm(GraphBuilder g, String x, String weight, float epsilon) {
        g.push("rmsnorm");
        String sq = g.op("Mul").in(x, x).out();
        String mean = g.op("ReduceMean").in(sq).attr("axes", new long[] {-1}).attr("keepdims", 1L).out();
        String root = g.op("Sqrt").in(g.op("Add").in(mean, g.floatScalar("epsilon", epsilon)).out()).out();
        String normed = g.op("Div").in(x, root).out();
        String out = g.op("Mul").in(normed, weight).out();
        g.pop();
        return out;
    }

    /** SiLU(x) = x * sigmoid(x). */
    public static String silu(GraphBuilder g, String x) {
        return g.op("Mul").in(x, g.op("Sigmoid").in(x).out()).out();
    }

    /** GPT-2's tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    public static String geluTanh(GraphBuilder g, String x) {
        String cube = g.op("Mul").in(g.op("Mul").in(x, x).out(), x).out();
        String inner = g.op("Add").in(x, g.op("Mul").in(cube, g.floatScalar("c044715", 0.044715f)).out()).out();
        String scaled = g.op("Mul").in(inner, g.floatScalar("sqrt_2_over_pi", (float) Math.sqrt(2 / Math.PI))).out();
        String onePlus = g.op("Add").in(g.op("Tanh").in(scaled).out(), g.floatScalar("one", 1f)).out();
        String half = g.op("Mul").in(x, g.floatScalar("half", 0.5f)).out();
        return g.op("Mul").in(half, onePlus).out();
    }
}
