package io.edgesplit.onnx.importer;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.build.Gpt2Builder;
import io.edgesplit.onnx.build.Gpt2Config;
import io.edgesplit.onnx.build.Layers;
import io.edgesplit.onnx.build.LlamaBuilder;
import io.edgesplit.onnx.build.LlamaConfig;
import io.edgesplit.onnx.build.WeightSource;
import io.edgesplit.onnx.load.ModelFolder;
import io.edgesplit.onnx.text.TokenizerRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Imports a Hugging Face checkpoint folder ({@code config.json}, {@code model.safetensors} or a
 * sharded {@code model.safetensors.index.json}, {@code tokenizer.json}) as a block-structured ONNX
 * decoder. Llama-family configs (Llama 2/3, Mistral, Qwen2: GQA, RoPE theta and scaling, attention
 * bias, tied embeddings) and GPT-2. Weights in F32, F16 or BF16 become float32.
 */
public final class HfImporter {
    public static final List<String> SUPPORTED = List.of(
            "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "GPT2LMHeadModel");

    /** The imported model, its tokenizer (or null) and the bytes of weights read. */
    public record Imported(ModelProto proto, TokenizerRef tokenizer, long weightBytes) {}

    private HfImporter() {}

    public static boolean isCheckpoint(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("config.json"));
    }

    public static Imported load(Path dir, long maxWeightBytes) {
        return load(dir, maxWeightBytes, LlamaBuilder.Attention.PLAIN);
    }

    /** @param attention for Llama-style checkpoints; GPT-2 has the plain graph only */
    public static Imported load(Path dir, long maxWeightBytes, LlamaBuilder.Attention attention) {
        JsonNode config = readJson(dir.resolve("config.json"), "config.json");
        String arch = config.path("architectures").path(0).asText(config.path("model_type").asText(""));
        if (!SUPPORTED.contains(arch)) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "architecture '" + (arch.isEmpty() ? "(none)" : arch)
                    + "' in " + dir.resolve("config.json") + " is not supported; supported: " + String.join(", ", SUPPORTED));
        }
        if (arch.equals("GPT2LMHeadModel")) {
            attention.requirePlainFor(arch + " checkpoint " + dir); // before any weights are read
        }
        Weights weights = Weights.open(dir, maxWeightBytes);
        String name = dir.getFileName().toString();
        ModelProto proto = arch.equals("GPT2LMHeadModel")
                ? Gpt2Builder.build(name, gpt2Config(config, dir), weights.gpt2())
                : LlamaBuilder.build(name, llamaConfig(config, dir, weights), weights.llama(), attention);
        Path tokenizerJson = dir.resolve("tokenizer.json");
        TokenizerRef tokenizer = null;
        if (Files.isRegularFile(tokenizerJson)) {
            int vocab = config.path("vocab_size").asInt();
            int bos = config.path("bos_token_id").isInt() ? config.path("bos_token_id").asInt() : -1;
            Set<Integer> stops = new LinkedHashSet<>();
            collectIds(config.path("eos_token_id"), stops);
            JsonNode generation = Files.isRegularFile(dir.resolve("generation_config.json"))
                    ? readJson(dir.resolve("generation_config.json"), "generation_config.json") : null;
            if (generation != null) {
                collectIds(generation.path("eos_token_id"), stops);
            }
            tokenizer = new TokenizerRef.HuggingFace(tokenizerJson, vocab, bos >= 0 ? bos : stops.stream().findFirst().orElse(-1), stops);
        }
        return new Imported(proto, tokenizer, weights.bytes);
    }

    private static void collectIds(JsonNode node, Set<Integer> out) {
        if (node.isInt()) {
            out.add(node.asInt());
        } else if (node.isArray()) {
            node.forEach(n -> out.add(n.asInt()));
        }
    }

    static JsonNode readJson(Path file, String what) {
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, what + " is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, what + " is not valid JSON: " + firstLine(e.getMessage()));
        }
    }

    private static String firstLine(String s) {
        int nl = s == null ? -1 : s.indexOf('\n');
        return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
    }

    private static int required(JsonNode config, String key, Path dir) {
        JsonNode n = config.get(key);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, dir.resolve("config.json") + ": '" + key
                    + "' is missing or not a positive integer");
        }
        return n.asInt();
    }

    static LlamaConfig llamaConfig(JsonNode c, Path dir, Weights weights) {
        int dim = required(c, "hidden_size", dir);
        int heads = required(c, "num_attention_heads", dir);
        int kvHeads = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                ? required(c, "num_key_value_heads", dir) : heads;
        if (c.has("head_dim") && !c.get("head_dim").isNull() && c.get("head_dim").asInt() != dim / heads) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "head_dim " + c.get("head_dim").asInt()
                    + " differs from hidden_size / num_attention_heads = " + dim / heads + "; not supported");
        }
        LlamaConfig.RopeScaling scaling = null;
        JsonNode rs = c.get("rope_scaling");
        if (rs != null && rs.isObject()) {
            String type = rs.path("rope_type").asText(rs.path("type").asText("default"));
            if (!type.equals("default")) {
                scaling = new LlamaConfig.RopeScaling(type, rs.path("factor").asDouble(1.0),
                        rs.path("low_freq_factor").asDouble(1.0), rs.path("high_freq_factor").asDouble(4.0),
                        rs.path("original_max_position_embeddings").asInt(8192));
            }
        }
        boolean bias = c.path("attention_bias").asBoolean(false)
                || weights.has("model.layers.0.self_attn.q_proj.bias");
        boolean tied = c.path("tie_word_embeddings").asBoolean(false) || !weights.has("lm_head.weight");
        return new LlamaConfig(required(c, "vocab_size", dir), dim, required(c, "num_hidden_layers", dir), heads, kvHeads,
                required(c, "intermediate_size", dir), c.path("max_position_embeddings").asInt(2048),
                c.path("rope_theta").asDouble(10000.0), Layers.RopeStyle.HALF, scaling,
                (float) c.path("rms_norm_eps").asDouble(1e-6), tied, bias,
                "pretrained (Hugging Face checkpoint " + dir.getFileName() + ")");
    }

    static Gpt2Config gpt2Config(JsonNode c, Path dir) {
        int dim = required(c, "n_embd", dir);
        String act = c.path("activation_function").asText("gelu_new");
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh")) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "GPT-2 activation_function '" + act
                    + "' is not supported (supported: gelu_new, gelu_pytorch_tanh)");
        }
        int inner = c.has("n_inner") && !c.get("n_inner").isNull() ? required(c, "n_inner", dir) : 4 * dim;
        return new Gpt2Config(required(c, "vocab_size", dir), dim, required(c, "n_layer", dir), required(c, "n_head", dir),
                inner, required(c, "n_positions", dir), (float) c.path("layer_norm_epsilon").asDouble(1e-5),
                "pretrained (Hugging Face checkpoint " + dir.getFileName() + ")");
    }

    /** The checkpoint's tensors across its safetensors shards. */
    static final class Weights {
        private final Map<String, Safetensors> byTensor;
        private final long bytes;

        private Weights(Map<String, Safetensors> byTensor, long bytes) {
            this.byTensor = byTensor;
            this.bytes = bytes;
        }

        static Weights open(Path dir, long maxBytes) {
            Set<String> files = new LinkedHashSet<>();
            if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
                files.add("model.safetensors");
            } else if (Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) {
                JsonNode map = readJson(dir.resolve("model.safetensors.index.json"), "model.safetensors.index.json")
                        .path("weight_map");
                for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                    files.add(it.next().asText());
                }
                if (files.isEmpty()) {
                    throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "model.safetensors.index.json has an empty weight_map");
                }
            } else {
                throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND, dir + " has no model.safetensors or "
                        + "model.safetensors.index.json (only safetensors weights are supported)");
            }
            long total = 0;
            Map<String, Safetensors> byTensor = new HashMap<>();
            for (String f : files) {
                Path file = ModelFolder.resolveInside(dir, f, "weight shard '" + f + "'");
                try {
                    total += Files.size(file);
                } catch (IOException e) {
                    throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read " + file + ": " + e.getMessage(), e);
                }
                if (total > maxBytes) {
                    throw new EdgeSplitException(ErrorCode.MODEL_TOO_LARGE, String.format(
                            "%s: weights exceed %,d bytes (model.max-bytes / --max-model-bytes)", dir, maxBytes));
                }
                Safetensors st = Safetensors.open(file);
                st.entries().keySet().forEach(k -> byTensor.put(k, st));
            }
            return new Weights(byTensor, total);
        }

        boolean has(String name) {
            return byTensor.containsKey(name);
        }

        float[] read(String name, long... shape) {
            Safetensors st = byTensor.get(name);
            if (st == null) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "the checkpoint has no tensor '" + name + "'");
            }
            long[] actual = st.entries().get(name).shape();
            if (!Arrays.equals(actual, shape)) {
                throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "tensor '" + name + "' has shape "
                        + Arrays.toString(actual) + " but the config needs " + Arrays.toString(shape));
            }
            return st.floats(name);
        }

        WeightSource llama() {
            return new WeightSource() {
                @Override
                public float[] tensor(String name, long... shape) {
                    return read(llamaName(name), shape);
                }

                @Override
                public boolean has(String name) {
                    return Weights.this.has(llamaName(name));
                }
            };
        }

        static String llamaName(String canonical) {
            if (canonical.equals("embed")) {
                return "model.embed_tokens.weight";
            }
            if (canonical.equals("norm")) {
                return "model.norm.weight";
            }
            if (canonical.equals("lm_head")) {
                return "lm_head.weight";
            }
            String[] p = canonical.split("\\.");
            String layer = "model.layers." + p[1] + ".";
            return layer + switch (p[2]) {
                case "attn_norm" -> "input_layernorm.weight";
                case "ffn_norm" -> "post_attention_layernorm.weight";
                case "wq" -> "self_attn.q_proj.weight";
                case "wk" -> "self_attn.k_proj.weight";
                case "wv" -> "self_attn.v_proj.weight";
                case "wo" -> "self_attn.o_proj.weight";
                case "bq" -> "self_attn.q_proj.bias";
                case "bk" -> "self_attn.k_proj.bias";
                case "bv" -> "self_attn.v_proj.bias";
                case "w1" -> "mlp.gate_proj.weight";
                case "w2" -> "mlp.down_proj.weight";
                case "w3" -> "mlp.up_proj.weight";
                default -> throw new IllegalArgumentException("no Hugging Face name for " + canonical);
            };
        }

        WeightSource gpt2() {
            String prefix = has("transformer.wte.weight") ? "transformer." : "";
            return new WeightSource() {
                @Override
                public float[] tensor(String name, long... shape) {
                    return read(prefix + name, shape);
                }

                @Override
                public boolean has(String name) {
                    return Weights.this.has(prefix + name);
                }
            };
        }
    }
}
