package io.edgesplit.onnx.importer;

import java.util.Map;

/**
 * Independent forward passes in plain Java (double accumulation), written from the Hugging Face
 * model definitions, to check the imported ONNX decoders against. Returns logits [position][vocab]
 * for a whole token sequence, without any cache.
 */
final class Reference {
    private Reference() {}

    static double[] matVec(float[] w, int rows, int cols, double[] x) { // w [rows, cols] @ x [cols]
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += w[r * cols + c] * x[c];
            }
            y[r] = s;
        }
        return y;
    }

    static double[] vecMat(double[] x, float[] w, int rows, int cols) { // x [rows] @ w [rows, cols] (Conv1D)
        double[] y = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                y[c] += x[r] * w[r * cols + c];
            }
        }
        return y;
    }

    static double[] add(double[] a, float[] b) {
        double[] y = a.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] += b[i];
        }
        return y;
    }

    static double[] rmsNorm(double[] x, float[] w, double eps) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double inv = 1 / Math.sqrt(ms / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * inv * w[i];
        }
        return y;
    }

    static double[] layerNorm(double[] x, float[] w, float[] b, double eps) {
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + eps) * w[i] + b[i];
        }
        return y;
    }

    /** softmax(q.k / sqrt(d)) v over keys 0..pos, for one head. */
    static double[] attend(double[][] q, double[][][] keys, double[][][] values, int pos, int head, int kvHead, int hd) {
        double[] scores = new double[pos + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= pos; j++) {
            double s = 0;
            for (int d = 0; d < hd; d++) {
                s += q[head][d] * keys[j][kvHead][d];
            }
            scores[j] = s / Math.sqrt(hd);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j <= pos; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[hd];
        for (int j = 0; j <= pos; j++) {
            for (int d = 0; d < hd; d++) {
                out[d] += scores[j] / sum * values[j][kvHead][d];
            }
        }
        return out;
    }

    /** Rotary frequencies as transformers computes them, with optional llama3 scaling. */
    static double[] invFreq(int hd, double theta, double factor, double low, double high, int original) {
        double[] inv = new double[hd / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, (double) (2 * i) / hd);
            if (factor > 0) {
                double lowWavelen = original / low;
                double highWavelen = original / high;
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) {
                    inv[i] = inv[i] / factor;
                } else if (wavelen >= highWavelen) {
                    double smooth = (original / wavelen - low) / (high - low);
                    inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    static double[][] llama(Map<String, float[]> w, int[] tokens, int vocab, int dim, int layers, int heads, int kvHeads,
            int ffn, boolean tied, double[] inv) {
        int hd = dim / heads;
        int n = tokens.length;
        double[][][][] keys = new double[layers][n][][];
        double[][][][] values = new double[layers][n][][];
        double[][] logits = new double[n][];
        for (int pos = 0; pos < n; pos++) {
            double[] x = new double[dim];
            float[] emb = w.get("model.embed_tokens.weight");
            for (int i = 0; i < dim; i++) {
                x[i] = emb[tokens[pos] * dim + i];
            }
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                double[] h = rmsNorm(x, w.get(p + "input_layernorm.weight"), 1e-6);
                double[] q = matVec(w.get(p + "self_attn.q_proj.weight"), heads * hd, dim, h);
                double[] k = matVec(w.get(p + "self_attn.k_proj.weight"), kvHeads * hd, dim, h);
                double[] v = matVec(w.get(p + "self_attn.v_proj.weight"), kvHeads * hd, dim, h);
                if (w.containsKey(p + "self_attn.q_proj.bias")) {
                    q = add(q, w.get(p + "self_attn.q_proj.bias"));
                    k = add(k, w.get(p + "self_attn.k_proj.bias"));
                    v = add(v, w.get(p + "self_attn.v_proj.bias"));
                }
                double[][] qh = heads(q, heads, hd);
                double[][] kh = heads(k, kvHeads, hd);
                rotateHalf(qh, pos, inv);
                rotateHalf(kh, pos, inv);
                keys[l][pos] = kh;
                values[l][pos] = heads(v, kvHeads, hd);
                double[] attn = new double[heads * hd];
                for (int hh = 0; hh < heads; hh++) {
                    double[] o = attend(qh, keys[l], values[l], pos, hh, hh / (heads / kvHeads), hd);
                    System.arraycopy(o, 0, attn, hh * hd, hd);
                }
                double[] o = matVec(w.get(p + "self_attn.o_proj.weight"), dim, heads * hd, attn);
                for (int i = 0; i < dim; i++) {
                    x[i] += o[i];
                }
                double[] h2 = rmsNorm(x, w.get(p + "post_attention_layernorm.weight"), 1e-6);
                double[] g = matVec(w.get(p + "mlp.gate_proj.weight"), ffn, dim, h2);
                double[] u = matVec(w.get(p + "mlp.up_proj.weight"), ffn, dim, h2);
                double[] a = new double[ffn];
                for (int i = 0; i < ffn; i++) {
                    a[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                double[] d = matVec(w.get(p + "mlp.down_proj.weight"), dim, ffn, a);
                for (int i = 0; i < dim; i++) {
                    x[i] += d[i];
                }
            }
            double[] hf = rmsNorm(x, w.get("model.norm.weight"), 1e-6);
            logits[pos] = matVec(tied ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight"), vocab, dim, hf);
        }
        return logits;
    }

    private static double[][] heads(double[] v, int heads, int hd) {
        double[][] out = new double[heads][hd];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(v, h * hd, out[h], 0, hd);
        }
        return out;
    }

    private static void rotateHalf(double[][] x, int pos, double[] inv) {
        int half = inv.length;
        for (double[] head : x) {
            for (int i = 0; i < half; i++) {
                double c = Math.cos(pos * inv[i]);
                double s = Math.sin(pos * inv[i]);
                double a = head[i];
                double b = head[i + half];
                head[i] = a * c - b * s;
                head[i + half] = b * c + a * s;
            }
        }
    }

    static double[][] gpt2(Map<String, float[]> w, String t, int[] tokens, int vocab, int dim, int layers, int heads, int ffn) {
        int hd = dim / heads;
        int n = tokens.length;
        double[][][][] keys = new double[layers][n][][];
        double[][][][] values = new double[layers][n][][];
        double[][] logits = new double[n][];
        float[] wte = w.get(t + "wte.weight");
        float[] wpe = w.get(t + "wpe.weight");
        for (int pos = 0; pos < n; pos++) {
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) {
                x[i] = (double) wte[tokens[pos] * dim + i] + wpe[pos * dim + i];
            }
            for (int l = 0; l < layers; l++) {
                String p = t + "h." + l + ".";
                double[] h = layerNorm(x, w.get(p + "ln_1.weight"), w.get(p + "ln_1.bias"), 1e-5);
                double[] qkv = add(vecMat(h, w.get(p + "attn.c_attn.weight"), dim, 3 * dim), w.get(p + "attn.c_attn.bias"));
                double[][] q = new double[heads][hd];
                double[][] k = new double[heads][hd];
                double[][] v = new double[heads][hd];
                for (int hh = 0; hh < heads; hh++) {
                    System.arraycopy(qkv, hh * hd, q[hh], 0, hd);
                    System.arraycopy(qkv, dim + hh * hd, k[hh], 0, hd);
                    System.arraycopy(qkv, 2 * dim + hh * hd, v[hh], 0, hd);
                }
                keys[l][pos] = k;
                values[l][pos] = v;
                double[] attn = new double[dim];
                for (int hh = 0; hh < heads; hh++) {
                    System.arraycopy(attend(q, keys[l], values[l], pos, hh, hh, hd), 0, attn, hh * hd, hd);
                }
                double[] o = add(vecMat(attn, w.get(p + "attn.c_proj.weight"), dim, dim), w.get(p + "attn.c_proj.bias"));
                for (int i = 0; i < dim; i++) {
                    x[i] += o[i];
                }
                double[] h2 = layerNorm(x, w.get(p + "ln_2.weight"), w.get(p + "ln_2.bias"), 1e-5);
                double[] up = add(vecMat(h2, w.get(p + "mlp.c_fc.weight"), dim, ffn), w.get(p + "mlp.c_fc.bias"));
                for (int i = 0; i < ffn; i++) {
                    double u = up[i];
                    up[i] = 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
                }
                double[] d = add(vecMat(up, w.get(p + "mlp.c_proj.weight"), ffn, dim), w.get(p + "mlp.c_proj.bias"));
                for (int i = 0; i < dim; i++) {
                    x[i] += d[i];
                }
            }
            double[] hf = layerNorm(x, w.get(t + "ln_f.weight"), w.get(t + "ln_f.bias"), 1e-5);
            logits[pos] = matVec(wte, vocab, dim, hf);
        }
        return logits;
    }
}
