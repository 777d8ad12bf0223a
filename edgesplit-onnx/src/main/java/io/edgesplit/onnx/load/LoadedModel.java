package io.edgesplit.onnx.load;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.Objects;

/**
 * A parsed, validated ONNX model with all external data inlined.
 *
 * @param name how the user named it ({@code builtin:minilm} or the file name)
 * @param proto the model
 * @param sizeBytes bytes read (file plus external data)
 */
public record LoadedModel(String name, ModelProto proto, long sizeBytes) {
    public LoadedModel {
        Objects.requireNonNull(name, "name == null");
        Objects.requireNonNull(proto, "proto == null");
    }
}
