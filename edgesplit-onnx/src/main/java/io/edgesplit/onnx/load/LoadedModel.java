package io.edgesplit.onnx.load;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import io.edgesplit.onnx.text.TokenizerRef;
import java.util.Objects;
import java.util.Optional;

/**
 * A parsed, validated ONNX model with all external data inlined.
 *
 * @param name how the user named it ({@code builtin:minilm} or the file name)
 * @param proto the model
 * @param sizeBytes bytes read (file plus external data)
 * @param tokenizer where its tokenizer is, or null if none is known
 */
public record LoadedModel(String name, ModelProto proto, long sizeBytes, TokenizerRef tokenizer) {
    public LoadedModel {
        Objects.requireNonNull(name, "name == null");
        Objects.requireNonNull(proto, "proto == null");
    }

    public LoadedModel(String name, ModelProto proto, long sizeBytes) {
        this(name, proto, sizeBytes, null);
    }

    /** A metadata value of the model ({@code edgesplit.weights}, {@code edgesplit.context}). */
    public Optional<String> metadata(String key) {
        for (StringStringEntryProto e : proto.getMetadataPropsList()) {
            if (e.getKey().equals(key)) {
                return Optional.of(e.getValue());
            }
        }
        return Optional.empty();
    }

    /** The context length in tokens the model states ({@code edgesplit.context}), or {@link Integer#MAX_VALUE}. */
    public int contextLength() {
        return metadata("edgesplit.context").map(Integer::parseInt).orElse(Integer.MAX_VALUE);
    }
}
