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
     * Causal scaled dot-product attention of new queries over cached plus new keys: the query at
     * absolute position p (from {@code positions} [B,S]) sees keys 0..p.
     *
     * @param q [B,H,S,Dh]
     * @param k all keys [B,H,T,Dh]
     * @param v all values [B,H,T,Dh]
     * @return [B,H,S,Dh]
     */
    public static String causalAttention(GraphBuilder g, String q, String k, String v, String positions, float scale) {
        String kt = g.op("Transpose").in(k).attr("perm", new long[] {0, 1, 3, 2}).out();
        String scores = g.op("MatMul").in(q, kt).out();
        String scaled = g.op("Mul").in(scores, g.floatScalar("scale", scale)).out();
        String masked = g.op("Add").in(scaled, causalMask(g, positions, k, 4)).out();
        String probs = g.op("Softmax").in(masked).attr("axis", -1L).out();
        return g.op("MatMul").in(probs, v).out();
    }

    /**
     * Additive causal mask from the queries' positions [B,S] and all keys k [..,T,Dh]: 0 where key j
     * is at or before the query's position, -inf after. Shaped [B,1,S,T] (or [B,1,1,S,T] for
     * {@code rank} 5) to broadcast over heads.
     */
    static String causalMask(GraphBuilder g, String positions, String k, int rank) {
        g.push("mask");
        String total = g.op("Gather").in(g.op("Shape").in(k).out(), g.int64Scalar(-2)).attr("axis", 0L).out();
        String keys = g.op("Range").in(g.int64Scalar(0), total, g.int64Scalar(1)).out();
        String query = g.op("Unsqueeze").in(positions, rank == 5 ? g.int64(1, 2, 4) : g.int64(1, 3)).out();
        String future = g.op("Greater").in(keys, query).out();
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
    public static String groupedCausalAttention(GraphBuilder g, String q, String k, String v, String positions,
            long heads, long kvHeads, long headDim, float scale) {
        if (heads == kvHeads) {
            return causalAttention(g, q, k, v, positions, scale);
        }
        long group = heads / kvHeads;
        String q5 = g.op("Reshape").in(q, g.int64(0, kvHeads, group, -1, headDim)).out();
        String k5 = g.op("Unsqueeze").in(k, g.int64(2)).out();
        String v5 = g.op("Unsqueeze").in(v, g.int64(2)).out();
        String kt = g.op("Transpose").in(k5).attr("perm", new long[] {0, 1, 2, 4, 3}).out();
        String scores = g.op("MatMul").in(q5, kt).out();
        String scaled = g.op("Mul").in(scores, g.floatScalar("scale", scale)).out();
        String masked = g.op("Add").in(scaled, causalMask(g, positions, k, 5)).out();
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
     * Rotary tables for {@link #rope}: cos and sin [maxPositions, Dh] with each frequency written
     * at both dimensions of its pair, and the [Dh, Dh] matrix that maps each pair (a, b) to (-b, a).
     */
    public record RopeTables(String cos, String sin, String rotate) {}

    public static RopeTables ropeTables(GraphBuilder g, double[] inverseFrequencies, int maxPositions, RopeStyle style) {
        int half = inverseFrequencies.length;
        int hd = 2 * half;
        float[] cos = new float[maxPositions * hd];
        float[] sin = new float[maxPositions * hd];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * inverseFrequencies[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                int a = style == RopeStyle.INTERLEAVED ? 2 * i : i;
                int b = style == RopeStyle.INTERLEAVED ? 2 * i + 1 : i + half;
                cos[p * hd + a] = c;
                cos[p * hd + b] = c;
                sin[p * hd + a] = s;
                sin[p * hd + b] = s;
            }
        }
        float[] rotate = new float[hd * hd]; // row = input dim, column = output dim
        for (int i = 0; i < half; i++) {
            int a = style == RopeStyle.INTERLEAVED ? 2 * i : i;
            int b = style == RopeStyle.INTERLEAVED ? 2 * i + 1 : i + half;
            rotate[b * hd + a] = -1; // out_a = -x_b
            rotate[a * hd + b] = 1; // out_b = x_a
        }
        return new RopeTables(g.weight("rope.cos", cos, maxPositions, hd), g.weight("rope.sin", sin, maxPositions, hd),
                g.weight("rope.rotate", rotate, hd, hd));
    }

    /** cos and sin at the given positions [B,S], shaped [B,S,1,Dh] to broadcast over heads. */
    public static String[] ropeAt(GraphBuilder g, RopeTables t, String positions) {
        g.push("rope");
        String c = g.op("Unsqueeze").in(g.op("Gather").in(t.cos(), positions).attr("axis", 0L).out(), g.int64(2)).out();
        String s = g.op("Unsqueeze").in(g.op("Gather").in(t.sin(), positions).attr("axis", 0L).out(), g.int64(2)).out();
        g.pop();
        return new String[] {c, s};
    }

    /**
     * Rotary position embedding of x [B,S,H,Dh]: x * cos + rotate(x) * sin, where rotate maps each
     * pair (a, b) to (-b, a). The rotation is a MatMul with a signed permutation matrix, which is exact.
     */
    public static String rope(GraphBuilder g, String x, RopeTables t, String[] cosSin) {
        g.push("rope");
        String rotated = g.op("MatMul").in(x, t.rotate()).out();
        String out = g.op("Add").in(g.op("Mul").in(x, cosSin[0]).out(), g.op("Mul").in(rotated, cosSin[1]).out()).out();
        g.pop();
        return out;
    }

    /** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the last axis. */
    public static String rmsNorm(GraphBuilder g, String x, String weight, float epsilon) {
        g.push("rmsnorm");
        // Pow(x, 2) rather than x * x: ONNX Runtime fuses this pattern into one SimplifiedLayerNormalization.
        String sq = g.op("Pow").in(x, g.floatScalar("two", 2f)).out();
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
