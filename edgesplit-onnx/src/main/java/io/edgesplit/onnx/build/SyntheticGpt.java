package io.edgesplit.onnx.build;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A GPT-style decoder with seeded random weights: token and position embeddings, N pre-norm blocks
 * of causal self-attention (with {@code past.i.key/value} inputs and {@code present.i.key/value}
 * outputs per layer) and a GELU MLP, a final LayerNorm and an LM head. For tests and for timing
 * at real shapes; its output is meaningless text.
 */
public final class SyntheticGpt {

    /** Shape and seed of a synthetic decoder. */
    public record Config(int vocab, int dim, int layers, int heads, int ffn, int maxPositions, long seed) {
        public Config {
            if (vocab < 2 || dim < 1 || layers < 1 || heads < 1 || ffn < 1 || maxPositions < 1) {
                throw new IllegalArgumentException("all sizes must be positive (vocab >= 2)");
            }
            if (dim % heads != 0) {
                throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
            }
        }

        /** 4 layers of dim 64: fast enough for unit tests. */
        public static Config small() {
            return new Config(256, 64, 4, 4, 256, 128, 1234);
        }

        public int headDim() {
            return dim / heads;
        }
    }

    private SyntheticGpt() {}

    public static ModelProto build(Config c) {
        Random rnd = new Random(c.seed());
        GraphBuilder g = new GraphBuilder("synthetic_gpt");
        String ids = g.input("input_ids", GraphBuilder.INT64, "batch", "sequence");
        String positions = g.input("position_ids", GraphBuilder.INT64, "batch", "sequence");
        for (int l = 0; l < c.layers(); l++) {
            g.input("past." + l + ".key", GraphBuilder.FLOAT, "batch", c.heads(), "past_sequence", c.headDim());
            g.input("past." + l + ".value", GraphBuilder.FLOAT, "batch", c.heads(), "past_sequence", c.headDim());
        }
        g.output("logits", GraphBuilder.FLOAT, "batch", "sequence", c.vocab());
        for (int l = 0; l < c.layers(); l++) {
            g.output("present." + l + ".key", GraphBuilder.FLOAT, "batch", c.heads(), "total_sequence", c.headDim());
            g.output("present." + l + ".value", GraphBuilder.FLOAT, "batch", c.heads(), "total_sequence", c.headDim());
        }

        g.push("embeddings");
        String wte = g.weight("embeddings.tokens", normal(rnd, c.vocab() * c.dim(), 0.5f), c.vocab(), c.dim());
        String wpe = g.weight("embeddings.positions", normal(rnd, c.maxPositions() * c.dim(), 0.1f), c.maxPositions(), c.dim());
        String tok = g.op("Gather").in(wte, ids).attr("axis", 0L).out();
        String pos = g.op("Gather").in(wpe, positions).attr("axis", 0L).out();
        String x = g.op("Add").in(tok, pos).out();
        g.pop();

        float scale = (float) (1 / Math.sqrt(c.headDim()));
        for (int l = 0; l < c.layers(); l++) {
            String p = "layers." + l + ".";
            g.push("layers." + l);
            g.push("attn");
            String h = Layers.layerNorm(g, x, g.weight(p + "ln1.weight", around(rnd, c.dim(), 1f, 0.1f), c.dim()),
                    g.weight(p + "ln1.bias", normal(rnd, c.dim(), 0.05f), c.dim()), 1e-5f);
            String q = linear(g, rnd, h, p + "q", c.dim(), c.dim());
            String k = linear(g, rnd, h, p + "k", c.dim(), c.dim());
            String v = linear(g, rnd, h, p + "v", c.dim(), c.dim());
            String qh = Layers.splitHeads(g, q, c.heads(), c.headDim());
            String kh = Layers.splitHeads(g, k, c.heads(), c.headDim());
            String vh = Layers.splitHeads(g, v, c.heads(), c.headDim());
            String kAll = g.op("Concat").in("past." + l + ".key", kh).attr("axis", 2L).outNamed("present." + l + ".key");
            String vAll = g.op("Concat").in("past." + l + ".value", vh).attr("axis", 2L).outNamed("present." + l + ".value");
            String attn = Layers.causalAttention(g, qh, kAll, vAll, positions, scale);
            String merged = Layers.mergeHeads(g, attn, c.dim());
            String o = linear(g, rnd, merged, p + "o", c.dim(), c.dim());
            x = g.op("Add").in(x, o).out();
            g.pop();
            g.push("mlp");
            String h2 = Layers.layerNorm(g, x, g.weight(p + "ln2.weight", around(rnd, c.dim(), 1f, 0.1f), c.dim()),
                    g.weight(p + "ln2.bias", normal(rnd, c.dim(), 0.05f), c.dim()), 1e-5f);
            String up = linear(g, rnd, h2, p + "up", c.dim(), c.ffn());
            String down = linear(g, rnd, Layers.gelu(g, up), p + "down", c.ffn(), c.dim());
            x = g.op("Add").in(x, down).out();
            g.pop();
            g.pop();
        }

        g.push("head");
        String hf = Layers.layerNorm(g, x, g.weight("final_norm.weight", around(rnd, c.dim(), 1f, 0.1f), c.dim()),
                g.weight("final_norm.bias", normal(rnd, c.dim(), 0.05f), c.dim()), 1e-5f);
        String lm = g.weight("lm_head.weight", normal(rnd, c.dim() * c.vocab(), (float) (1 / Math.sqrt(c.dim()))),
                c.dim(), c.vocab());
        g.op("MatMul").in(hf, lm).outNamed("logits");
        g.pop();

        Map<String, Integer> opsets = new LinkedHashMap<>();
        opsets.put("", 17);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("edgesplit.weights", "random (seed " + c.seed() + ")");
        meta.put("edgesplit.config", c.toString());
        meta.put("edgesplit.context", Integer.toString(c.maxPositions()));
        return g.build(8, opsets, "edgesplit-synthetic-gpt", meta);
    }

    private static String linear(GraphBuilder g, Random rnd, String x, String name, int in, int out) {
        String w = g.weight(name + ".weight", normal(rnd, in * out, (float) (1 / Math.sqrt(in))), in, out);
        String b = g.weight(name + ".bias", normal(rnd, out, 0.02f), out);
        return Layers.linear(g, x, w, b);
    }

    static float[] normal(Random rnd, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * std);
        }
        return v;
    }

    private static float[] around(Random rnd, int n, float mean, float std) {
        float[] v = normal(rnd, n, std);
        for (int i = 0; i < n; i++) {
            v[i] += mean;
        }
        return v;
    }
}
