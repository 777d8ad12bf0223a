package io.edgesplit.onnx.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The tensors a stage hands on: the activations crossing its end cut and the graph outputs it
 * produced. Owns the ORT results they live in and closes them with itself. Tensors kept by a KV
 * cache stay valid until the same sequence's next step.
 */
public final class StageResult implements AutoCloseable {
    private final Map<String, OnnxTensor> outputs;
    private final List<OrtSession.Result> owned;

    StageResult(Map<String, OnnxTensor> outputs, List<OrtSession.Result> owned) {
        this.outputs = Collections.unmodifiableMap(outputs);
        this.owned = owned;
    }

    public Map<String, OnnxTensor> outputs() {
        return outputs;
    }

    public OnnxTensor get(String name) {
        OnnxTensor t = outputs.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no output '" + name + "'; outputs are " + outputs.keySet());
        }
        return t;
    }

    @Override
    public void close() {
        for (OrtSession.Result r : owned) {
            r.close();
        }
        owned.clear();
    }
}
