package io.edgesplit.onnx.build;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a Llama-family decoder as ONNX (opset 17, plain ops): token embedding; per layer RMSNorm,
 * q/k/v projections, rotary embedding, grouped-query causal attention over {@code past.i.key/value}
 * (returned grown as {@code present.i.key/value}), output projection, RMSNorm, SwiGLU; final RMSNorm
 * and LM head. Node names are scoped by layer so the partitioning engine cuts one block per layer.
 *
 * <p>Weight names (canonical, linear weights [out, in]): {@code embed}, {@code layers.L.attn_norm},
 * {@code layers.L.wq|wk|wv|wo} (+ {@code bq|bk|bv} with attention bias), {@code layers.L.ffn_norm},
 * {@code layers.L.w1} (gate), {@code layers.L.w3} (up), {@code layers.L.w2} (down), {@code norm},
 * {@code lm_head} (unless tied).
 */
public final class LlamaBuilder {
    private LlamaBuilder() {}

    /** How attention is expressed in the graph. Both give the same outputs (within float rounding). */
    public enum Attention {
        /** Plain ONNX ops (MatMul, Softmax, Concat for the cache): runs on any ONNX runtime. */
        PLAIN,
        /**
         * ONNX Runtime's fused {@code com.microsoft.GroupQueryAttention} (causal, grouped KV heads, the cache
         * grown in the kernel). RoPE stays in plain ops before it, so positions come from {@code position_ids}
         * as in the plain graph; the kernel derives its mask from the cache length, so positions must be the
         * consecutive ones after the cache (as the generation loop gives them).
         */
        FUSED;

        /** Refuses anything but plain attention for {@code model}, which has no fused variant. */
        public void requirePlainFor(String model) {
            if (this != PLAIN) {
                throw new io.edgesplit.core.error.EdgeSplitException(io.edgesplit.core.error.ErrorCode.MODEL_UNSUPPORTED,
                        "--attention " + name().toLowerCase(java.util.Locale.ROOT) + " applies to the Llama-family decoders"
                                + " EdgeSplit builds (llama2.c files, Llama/Mistral/Qwen2-style checkpoints, the builtin Llama"
                                + " models), not to " + model);
            }
        }

        public static Attention parse(String s) {
            return switch (s == null ? "" : s.toLowerCase(java.util.Locale.ROOT)) {
                case "plain" -> PLAIN;
                case "fused" -> FUSED;
                default -> throw io.edgesplit.core.error.EdgeSplitException.invalidArgument(
                        "--attention must be plain or fused, not '" + s + "'");
            };
        }
    }

    public static ModelProto build(String name, LlamaConfig c, WeightSource w) {
        return build(name, c, w, Attention.PLAIN);
    }

    public static ModelProto build(String name, LlamaConfig c, WeightSource w, Attention attention) {
        GraphBuilder g = new GraphBuilder(name);
        int hd = c.headDim();
        String ids = g.input("input_ids", GraphBuilder.INT64, "batch", "sequence");
        String positions = g.input("position_ids", GraphBuilder.INT64, "batch", "sequence");
        for (int l = 0; l < c.layers(); l++) {
            g.input("past." + l + ".key", GraphBuilder.FLOAT, "batch", c.kvHeads(), "past_sequence", hd);
            g.input("past." + l + ".value", GraphBuilder.FLOAT, "batch", c.kvHeads(), "past_sequence", hd);
        }
        g.output("logits", GraphBuilder.FLOAT, "batch", "sequence", c.vocab());
        for (int l = 0; l < c.layers(); l++) {
            g.output("present." + l + ".key", GraphBuilder.FLOAT, "batch", c.kvHeads(), "total_sequence", hd);
            g.output("present." + l + ".value", GraphBuilder.FLOAT, "batch", c.kvHeads(), "total_sequence", hd);
        }

        float[] embed = w.tensor("embed", c.vocab(), c.dim());
        g.push("embeddings");
        String table = g.weight("embed.weight", embed, c.vocab(), c.dim());
        String x = g.op("Gather").in(table, ids).attr("axis", 0L).out();
        g.pop();
        // a tied head is the embedding transposed; made now, so that the embedding's floats (1 GB for a
        // 128K vocabulary) are not kept alive beside every layer's weights until the end
        String headWeight = c.tiedEmbeddings()
                ? g.weight("lm_head.weight", WeightSource.transpose(embed, c.vocab(), c.dim()), c.dim(), c.vocab()) : null;
        embed = null;

        Layers.RopeTables rope = Layers.ropeTables(g, c.inverseFrequencies(), c.maxPositions(), c.ropeStyle());
        float scale = (float) (1 / Math.sqrt(hd));

        for (int l = 0; l < c.layers(); l++) {
            String p = "layers." + l + ".";
            g.push("layers." + l).push("attn");
            String h = Layers.rmsNorm(g, x, g.weight(p + "attn_norm", w.tensor(p + "attn_norm", c.dim()), c.dim()), c.normEps());
            // One MatMul for q, k and v: fewer, larger matrix-vector products decode faster.
            String[] qkv = fusedProjection(g, w, h, p, new String[] {"q", "k", "v"},
                    new int[] {c.heads() * hd, c.kvHeads() * hd, c.kvHeads() * hd}, c.dim(), c.attentionBias());
            String q = qkv[0];
            String k = qkv[1];
            String v = qkv[2];
            // q and k heads rotate together: one RoPE for both, split after.
            String q4 = g.op("Reshape").in(q, g.int64(0, 0, c.heads(), hd)).out();
            String k4 = g.op("Reshape").in(k, g.int64(0, 0, c.kvHeads(), hd)).out();
            String qk = g.op("Concat").in(q4, k4).attr("axis", 2L).out();
            String qkr = Layers.rope(g, qk, rope, Layers.ropeAt(g, rope, positions));
            String[] rotated = g.op("Split").in(qkr, g.int64(c.heads(), c.kvHeads())).attr("axis", 2L).outs(2);
            String qr = rotated[0];
            String kr = rotated[1];
            String merged = attention == Attention.FUSED ? fusedAttention(g, l, qr, kr, v, c, scale)
                    : plainAttention(g, l, qr, kr, v, positions, c, scale);
            String o = g.op("MatMul").in(merged,
                    g.weight(p + "wo", w.linearForMatMul(p + "wo", c.dim(), c.heads() * hd), c.heads() * hd, c.dim())).out();
            x = g.op("Add").in(x, o).out();
            g.pop().push("mlp");
            String h2 = Layers.rmsNorm(g, x, g.weight(p + "ffn_norm", w.tensor(p + "ffn_norm", c.dim()), c.dim()), c.normEps());
            String[] gateUp = fusedProjection(g, w, h2, p, new String[] {"1", "3"}, new int[] {c.ffn(), c.ffn()}, c.dim(), false);
            String gate = gateUp[0];
            String up = gateUp[1];
            String act = g.op("Mul").in(Layers.silu(g, gate), up).out();
            String down = g.op("MatMul").in(act, g.weight(p + "w2", w.linearForMatMul(p + "w2", c.dim(), c.ffn()), c.ffn(), c.dim())).out();
            x = g.op("Add").in(x, down).out();
            g.pop().pop();
        }

        g.push("head");
        String hf = Layers.rmsNorm(g, x, g.weight("norm", w.tensor("norm", c.dim()), c.dim()), c.normEps());
        if (headWeight == null) {
            headWeight = g.weight("lm_head.weight", w.linearForMatMul("lm_head", c.vocab(), c.dim()), c.dim(), c.vocab());
        }
        g.op("MatMul").in(hf, headWeight).outNamed("logits");
        g.pop();

        Map<String, Integer> opsets = new LinkedHashMap<>();
        opsets.put("", 17);
        if (attention == Attention.FUSED) {
            opsets.put(MS_DOMAIN, 1);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("edgesplit.architecture", "llama");
        meta.put("edgesplit.weights", c.weightsNote());
        meta.put("edgesplit.config", c.toString());
        meta.put("edgesplit.context", Integer.toString(c.maxPositions()));
        meta.put("edgesplit.attention", attention.name().toLowerCase(java.util.Locale.ROOT));
        return g.build(8, opsets, "edgesplit-llama-builder", meta);
    }

    private static final String MS_DOMAIN = "com.microsoft";

    /** Layer {@code l}'s attention in plain ops, with the same inputs and outputs as {@link #fusedAttention}. */
    private static String plainAttention(GraphBuilder g, int l, String q, String k, String v, String positions, LlamaConfig c,
            float scale) {
        int hd = c.headDim();
        long[] toHeads = {0, 2, 1, 3};
        String qh = g.op("Transpose").in(q).attr("perm", toHeads).out();
        String kh = g.op("Transpose").in(k).attr("perm", toHeads).out();
        String vh = g.op("Transpose").in(g.op("Reshape").in(v, g.int64(0, 0, c.kvHeads(), hd)).out()).attr("perm", toHeads).out();
        String kAll = g.op("Concat").in("past." + l + ".key", kh).attr("axis", 2L).outNamed("present." + l + ".key");
        String vAll = g.op("Concat").in("past." + l + ".value", vh).attr("axis", 2L).outNamed("present." + l + ".value");
        String attn = Layers.groupedCausalAttention(g, qh, kAll, vAll, positions, c.heads(), c.kvHeads(), hd, scale);
        return Layers.mergeHeads(g, attn, (long) c.heads() * hd);
    }

    /**
     * Layer {@code l}'s attention as one GroupQueryAttention node over the rotated q [B,S,H,Dh] and k
     * [B,S,KV,Dh] and v [B,S,KV*Dh], reading {@code past.l.*} and writing {@code present.l.*}
     * ([B,KV,T,Dh], as in the plain graph). Returns [B,S,H*Dh].
     */
    private static String fusedAttention(GraphBuilder g, int l, String q, String k, String v, LlamaConfig c, float scale) {
        int hd = c.headDim();
        String q3 = g.op("Reshape").in(q, g.int64(0, 0, (long) c.heads() * hd)).out();
        String k3 = g.op("Reshape").in(k, g.int64(0, 0, (long) c.kvHeads() * hd)).out();
        String pastKey = "past." + l + ".key";
        // the kernel's lengths: total = cached + new tokens, and per row the index of its last token
        String qShape = g.op("Shape").in(q3).out();
        String batch = g.op("Gather").in(qShape, g.int64(0)).attr("axis", 0L).out();
        String fresh = g.op("Gather").in(qShape, g.int64Scalar(1)).attr("axis", 0L).out();
        String cached = g.op("Gather").in(g.op("Shape").in(pastKey).out(), g.int64Scalar(2)).attr("axis", 0L).out();
        String total64 = g.op("Add").in(cached, fresh).out();
        String total = g.op("Cast").in(total64).attr("to", (long) GraphBuilder.INT32).out();
        String last = g.op("Cast").in(g.op("Sub").in(total64, g.int64Scalar(1)).out()).attr("to", (long) GraphBuilder.INT32).out();
        String seqlens = g.op("Expand").in(last, batch).out();
        return g.op("GroupQueryAttention", MS_DOMAIN).name("GroupQueryAttention")
                .in(q3, k3, v, pastKey, "past." + l + ".value", seqlens, total)
                .attr("num_heads", (long) c.heads()).attr("kv_num_heads", (long) c.kvHeads()).attr("scale", scale)
                .outNamed("layers." + l + ".attn_out", "present." + l + ".key", "present." + l + ".value");
    }

    /**
     * Several projections of the same input as one MatMul over their weights side by side
     * ([in, out1 + out2 + ...]), split afterwards.
     */
    private static String[] fusedProjection(GraphBuilder g, WeightSource w, String x, String prefix, String[] which,
            int[] outs, int in, boolean bias) {
        int total = 0;
        for (int o : outs) {
            total += o;
        }
        float[] joined = new float[in * total];
        float[] joinedBias = bias ? new float[total] : null;
        int col = 0;
        StringBuilder name = new StringBuilder(prefix + "w");
        for (int i = 0; i < which.length; i++) {
            float[] part = w.linearForMatMul(prefix + "w" + which[i], outs[i], in);
            for (int r = 0; r < in; r++) {
                System.arraycopy(part, r * outs[i], joined, r * total + col, outs[i]);
            }
            if (bias) {
                System.arraycopy(w.tensor(prefix + "b" + which[i], outs[i]), 0, joinedBias, col, outs[i]);
            }
            col += outs[i];
            name.append(which[i]);
        }
        String y = g.op("MatMul").in(x, g.weight(name.toString(), joined, in, total)).out();
        if (bias) {
            y = g.op("Add").in(y, g.weight(name.toString().replaceFirst("\\.w", ".b"), joinedBias, total)).out();
        }
        long[] sizes = new long[outs.length];
        for (int i = 0; i < outs.length; i++) {
            sizes[i] = outs[i];
        }
        return g.op("Split").in(y, g.int64(sizes)).attr("axis", -1L).outs(outs.length);
    }

}
