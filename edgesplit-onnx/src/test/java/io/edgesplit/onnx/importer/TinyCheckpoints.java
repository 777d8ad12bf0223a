package io.edgesplit.onnx.importer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random Hugging Face checkpoints written with the project's safetensors writer. The weights
 * kept here are the values after rounding to the checkpoint's dtype, so a reference computes with
 * exactly what the importer reads.
 */
final class TinyCheckpoints {
    private TinyCheckpoints() {}

    /** A written checkpoint and its weights by Hugging Face name (as float32 after dtype rounding). */
    record Checkpoint(Path dir, Map<String, float[]> weights) {}

    static float round(float v, String dtype) {
        return switch (dtype) {
            case "F16" -> Float.float16ToFloat(Float.floatToFloat16(v));
            case "BF16" -> Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xFFFF0000);
            default -> v;
        };
    }

    private static final class Writer {
        final SafetensorsWriter st = new SafetensorsWriter();
        final Map<String, float[]> weights = new LinkedHashMap<>();
        final Random random;
        final String dtype;

        Writer(long seed, String dtype) {
            this.random = new Random(seed);
            this.dtype = dtype;
        }

        void add(String name, double mean, double std, long... shape) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            float[] v = new float[(int) n];
            for (int i = 0; i < v.length; i++) {
                v[i] = round((float) (mean + random.nextGaussian() * std), dtype);
            }
            weights.put(name, v);
            st.add(name, dtype, v, shape);
        }
    }

    /** Options of a tiny Llama-family checkpoint. */
    record Llama(String architecture, int kvHeads, boolean bias, boolean tied, String ropeScaling, double theta, String dtype) {}

    static final int VOCAB = 61;
    static final int DIM = 32;
    static final int HEADS = 4;
    static final int FFN = 48;
    static final int LAYERS = 2;
    static final int CONTEXT = 64;

    static Checkpoint llama(Path dir, Llama o) throws IOException {
        Files.createDirectories(dir);
        Writer w = new Writer(17, o.dtype());
        int hd = DIM / HEADS;
        w.add("model.embed_tokens.weight", 0, 0.5, VOCAB, DIM);
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            w.add(p + "input_layernorm.weight", 1, 0.1, DIM);
            w.add(p + "self_attn.q_proj.weight", 0, 0.2, HEADS * hd, DIM);
            w.add(p + "self_attn.k_proj.weight", 0, 0.2, (long) o.kvHeads() * hd, DIM);
            w.add(p + "self_attn.v_proj.weight", 0, 0.2, (long) o.kvHeads() * hd, DIM);
            if (o.bias()) {
                w.add(p + "self_attn.q_proj.bias", 0, 0.1, HEADS * hd);
                w.add(p + "self_attn.k_proj.bias", 0, 0.1, (long) o.kvHeads() * hd);
                w.add(p + "self_attn.v_proj.bias", 0, 0.1, (long) o.kvHeads() * hd);
            }
            w.add(p + "self_attn.o_proj.weight", 0, 0.2, DIM, HEADS * hd);
            w.add(p + "post_attention_layernorm.weight", 1, 0.1, DIM);
            w.add(p + "mlp.gate_proj.weight", 0, 0.2, FFN, DIM);
            w.add(p + "mlp.up_proj.weight", 0, 0.2, FFN, DIM);
            w.add(p + "mlp.down_proj.weight", 0, 0.2, DIM, FFN);
        }
        w.add("model.norm.weight", 1, 0.1, DIM);
        if (!o.tied()) {
            w.add("lm_head.weight", 0, 0.2, VOCAB, DIM);
        }
        w.st.write(dir.resolve("model.safetensors"));
        String scaling = o.ropeScaling() == null ? "null" : o.ropeScaling();
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["%s"], "vocab_size": %d, "hidden_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "intermediate_size": %d,
                 "max_position_embeddings": %d, "rope_theta": %s, "rope_scaling": %s, "rms_norm_eps": 1e-6,
                 "tie_word_embeddings": %s, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
                """.formatted(o.architecture(), VOCAB, DIM, LAYERS, HEADS, o.kvHeads(), FFN, CONTEXT, o.theta(), scaling,
                o.tied()));
        return new Checkpoint(dir, w.weights);
    }

    static Checkpoint gpt2(Path dir, String dtype, boolean prefixed) throws IOException {
        Files.createDirectories(dir);
        Writer w = new Writer(23, dtype);
        String t = prefixed ? "transformer." : "";
        w.add(t + "wte.weight", 0, 0.5, VOCAB, DIM);
        w.add(t + "wpe.weight", 0, 0.1, CONTEXT, DIM);
        for (int l = 0; l < LAYERS; l++) {
            String p = t + "h." + l + ".";
            w.add(p + "ln_1.weight", 1, 0.1, DIM);
            w.add(p + "ln_1.bias", 0, 0.05, DIM);
            w.add(p + "attn.c_attn.weight", 0, 0.2, DIM, 3 * DIM);
            w.add(p + "attn.c_attn.bias", 0, 0.05, 3 * DIM);
            w.add(p + "attn.c_proj.weight", 0, 0.2, DIM, DIM);
            w.add(p + "attn.c_proj.bias", 0, 0.05, DIM);
            w.add(p + "ln_2.weight", 1, 0.1, DIM);
            w.add(p + "ln_2.bias", 0, 0.05, DIM);
            w.add(p + "mlp.c_fc.weight", 0, 0.2, DIM, FFN);
            w.add(p + "mlp.c_fc.bias", 0, 0.05, FFN);
            w.add(p + "mlp.c_proj.weight", 0, 0.2, FFN, DIM);
            w.add(p + "mlp.c_proj.bias", 0, 0.05, DIM);
        }
        w.add(t + "ln_f.weight", 1, 0.1, DIM);
        w.add(t + "ln_f.bias", 0, 0.05, DIM);
        w.st.write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["GPT2LMHeadModel"], "vocab_size": %d, "n_embd": %d, "n_layer": %d, "n_head": %d,
                 "n_inner": %d, "n_positions": %d, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
                 "bos_token_id": 0, "eos_token_id": 0}
                """.formatted(VOCAB, DIM, LAYERS, HEADS, FFN, CONTEXT));
        return new Checkpoint(dir, w.weights);
    }

    /** A word-level tokenizer.json over the checkpoint's 61 ids: "w0".."w60", whitespace split. */
    static void wordTokenizer(Path dir) throws IOException {
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB; i++) {
            vocab.append(i == 0 ? "" : ",").append("\"w").append(i).append("\":").append(i);
        }
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                 "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
                 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": false},
                 "model": {"type": "WordLevel", "vocab": {%s}, "unk_token": "w0"}}
                """.formatted(vocab));
    }
}
