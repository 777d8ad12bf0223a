package io.edgesplit.onnx.build;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a GPT-2 decoder as ONNX (opset 17, plain ops) with {@code past.i.key/value} inputs and
 * {@code present.i.key/value} outputs per layer. Weight names are Hugging Face's, without the
 * {@code transformer.} prefix: {@code wte.weight}, {@code wpe.weight}, {@code h.L.ln_1.weight},
 * {@code h.L.attn.c_attn.weight} ([in, out], as GPT-2's Conv1D stores it), ..., {@code ln_f.weight}.
 */
public final class Gpt2Builder {
    private Gpt2Builder() {}

    public static ModelProto build(String name, Gpt2Config c, WeightSource w) {
        GraphBuilder g = new GraphBuilder(name);
        int hd = c.headDim();
        String ids = g.input("input_ids", GraphBuilder.INT64, "batch", "sequence");
        String positions = g.input("position_ids", GraphBuilder.INT64, "batch", "sequence");
        for (int l = 0; l < c.layers(); l++) {
            g.input("past." + l + ".key", GraphBuilder.FLOAT, "batch", c.heads(), "past_sequence", hd);
            g.input("past." + l + ".value", GraphBuilder.FLOAT, "batch", c.heads(), "past_sequence", hd);
        }
        g.output("logits", GraphBuilder.FLOAT, "batch", "sequence", c.vocab());
        for (int l = 0; l < c.layers(); l++) {
            g.output("present." + l + ".key", GraphBuilder.FLOAT, "batch", c.heads(), "total_sequence", hd);
            g.output("present." + l + ".value", GraphBuilder.FLOAT, "batch", c.heads(), "total_sequence", hd);
        }

        float[] wte = w.tensor("wte.weight", c.vocab(), c.dim());
        g.push("embeddings");
        String tokens = g.op("Gather").in(g.weight("wte.weight", wte, c.vocab(), c.dim()), ids).attr("axis", 0L).out();
        String pos = g.op("Gather").in(g.weight("wpe.weight", w.tensor("wpe.weight", c.maxPositions(), c.dim()),
                c.maxPositions(), c.dim()), positions).attr("axis", 0L).out();
        String x = g.op("Add").in(tokens, pos).out();
        g.pop();

        float scale = (float) (1 / Math.sqrt(hd));
        for (int l = 0; l < c.layers(); l++) {
            String p = "h." + l + ".";
            g.push("layers." + l).push("attn");
            String h = Layers.layerNorm(g, x, vector(g, w, p + "ln_1.weight", c.dim()), vector(g, w, p + "ln_1.bias", c.dim()),
                    c.normEps());
            String qkv = Layers.linear(g, h, matrix(g, w, p + "attn.c_attn.weight", c.dim(), 3 * c.dim()),
                    vector(g, w, p + "attn.c_attn.bias", 3 * c.dim()));
            String[] parts = g.op("Split").in(qkv, g.int64(c.dim(), c.dim(), c.dim())).attr("axis", -1L).outs(3);
            String qh = Layers.splitHeads(g, parts[0], c.heads(), hd);
            String kh = Layers.splitHeads(g, parts[1], c.heads(), hd);
            String vh = Layers.splitHeads(g, parts[2], c.heads(), hd);
            String kAll = g.op("Concat").in("past." + l + ".key", kh).attr("axis", 2L).outNamed("present." + l + ".key");
            String vAll = g.op("Concat").in("past." + l + ".value", vh).attr("axis", 2L).outNamed("present." + l + ".value");
            String attn = Layers.causalAttention(g, qh, kAll, vAll, positions, scale);
            String merged = Layers.mergeHeads(g, attn, c.dim());
            String o = Layers.linear(g, merged, matrix(g, w, p + "attn.c_proj.weight", c.dim(), c.dim()),
                    vector(g, w, p + "attn.c_proj.bias", c.dim()));
            x = g.op("Add").in(x, o).out();
            g.pop().push("mlp");
            String h2 = Layers.layerNorm(g, x, vector(g, w, p + "ln_2.weight", c.dim()), vector(g, w, p + "ln_2.bias", c.dim()),
                    c.normEps());
            String up = Layers.linear(g, h2, matrix(g, w, p + "mlp.c_fc.weight", c.dim(), c.ffn()),
                    vector(g, w, p + "mlp.c_fc.bias", c.ffn()));
            String down = Layers.linear(g, Layers.geluTanh(g, up), matrix(g, w, p + "mlp.c_proj.weight", c.ffn(), c.dim()),
                    vector(g, w, p + "mlp.c_proj.bias", c.dim()));
            x = g.op("Add").in(x, down).out();
            g.pop().pop();
        }

        g.push("head");
        String hf = Layers.layerNorm(g, x, vector(g, w, "ln_f.weight", c.dim()), vector(g, w, "ln_f.bias", c.dim()), c.normEps());
        g.op("MatMul").in(hf, g.weight("lm_head.weight", WeightSource.transpose(wte, c.vocab(), c.dim()), c.dim(), c.vocab()))
                .outNamed("logits");
        g.pop();

        Map<String, Integer> opsets = new LinkedHashMap<>();
        opsets.put("", 17);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("edgesplit.architecture", "gpt2");
        meta.put("edgesplit.weights", c.weightsNote());
        meta.put("edgesplit.config", c.toString());
        meta.put("edgesplit.context", Integer.toString(c.maxPositions()));
        return g.build(8, opsets, "edgesplit-gpt2-builder", meta);
    }

    private static String vector(GraphBuilder g, WeightSource w, String name, int n) {
        return g.weight(name, w.tensor(name, n), n);
    }

    /** A Conv1D weight: stored [in, out], used as is. */
    private static String matrix(GraphBuilder g, WeightSource w, String name, int in, int out) {
        return g.weight(name, w.tensor(name, in, out), in, out);
    }
}
