package io.edgesplit.orchestrator.http;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.worker.TensorCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How token ids become an encoder's inputs and its output becomes one embedding: the BERT-style
 * inputs it has ({@code input_ids}, {@code attention_mask}, {@code token_type_ids}; int64 or int32,
 * shape [1, n]) and the pooling the model states in its {@code edgesplit.pooling} metadata:
 * {@code mean-normalized} (mean over the tokens, then L2 norm 1, as sentence-transformers' MiniLM;
 * the default), {@code mean} or {@code cls}.
 */
final class Embedder {
    enum Pooling { MEAN_NORMALIZED, MEAN, CLS }

    private final List<String> inputNames;
    private final Map<String, Integer> inputTypes;
    private final String output;
    private final Pooling pooling;

    private Embedder(Map<String, Integer> inputs, String output, Pooling pooling) {
        this.inputNames = List.copyOf(inputs.keySet());
        this.inputTypes = Map.copyOf(inputs);
        this.output = output;
        this.pooling = pooling;
    }

    /** The embedder of an encoder, or 400 when its inputs cannot be made from token ids. */
    static Embedder of(AnalyzedModel am) {
        Map<String, Integer> inputs = new LinkedHashMap<>();
        for (ValueInfoProto v : am.index().inputs()) {
            int type = v.getType().getTensorType().getElemType();
            if (!List.of("input_ids", "attention_mask", "token_type_ids").contains(v.getName())
                    || (type != TensorProto.DataType.INT64_VALUE && type != TensorProto.DataType.INT32_VALUE)) {
                throw new ApiError(400, "invalid_request_error", "model", "model_not_embedding", am.name()
                        + " has the input " + v.getName() + ", which text cannot fill (input_ids, attention_mask and "
                        + "token_type_ids of int64 or int32 can be)");
            }
            inputs.put(v.getName(), type);
        }
        if (!inputs.containsKey("input_ids")) {
            throw new ApiError(400, "invalid_request_error", "model", "model_not_embedding", am.name() + " has no input_ids");
        }
        List<String> outputs = am.index().outputNames();
        String output = outputs.contains("last_hidden_state") ? "last_hidden_state" : outputs.getFirst();
        String p = am.model().metadata("edgesplit.pooling").orElse("mean-normalized");
        Pooling pooling = switch (p) {
            case "mean-normalized" -> Pooling.MEAN_NORMALIZED;
            case "mean" -> Pooling.MEAN;
            case "cls" -> Pooling.CLS;
            default -> throw new EdgeSplitException(ErrorCode.MODEL_INVALID, am.name() + ": unknown pooling '" + p + "'");
        };
        return new Embedder(inputs, output, pooling);
    }

    /** The model's inputs for one text (no padding: the mask is all ones). The caller closes them. */
    Map<String, OnnxTensor> inputs(int[] ids) {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (String name : inputNames) {
                boolean int64 = inputTypes.get(name) == TensorProto.DataType.INT64_VALUE;
                ByteBuffer b = ByteBuffer.allocateDirect(ids.length * (int64 ? 8 : 4)).order(ByteOrder.nativeOrder());
                for (int id : ids) {
                    int v = switch (name) {
                        case "input_ids" -> id;
                        case "attention_mask" -> 1;
                        default -> 0;
                    };
                    if (int64) {
                        b.putLong(v);
                    } else {
                        b.putInt(v);
                    }
                }
                b.flip();
                long[] shape = {1, ids.length};
                out.put(name, int64 ? OnnxTensor.createTensor(OrtRuntime.get().env(), b.asLongBuffer(), shape)
                        : OnnxTensor.createTensor(OrtRuntime.get().env(), b.asIntBuffer(), shape));
            }
            return out;
        } catch (OrtException e) {
            out.values().forEach(OnnxTensor::close);
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "cannot make the encoder's inputs: " + e.getMessage(), e);
        }
    }

    /** One embedding from the encoder's outputs for an input of {@code tokens} tokens. */
    float[] pool(Map<String, Tensor> outputs, int tokens) {
        Tensor t = outputs.get(output);
        if (t == null) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "the encoder returned no " + output + ": "
                    + outputs.keySet());
        }
        long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
        FloatBuffer v = TensorCodec.floats(t); // checked (size, CRC) and read in place
        int dim = shape.length >= 2 ? (int) shape[shape.length - 1] : 0;
        float[] e = new float[dim];
        if (shape.length == 2) { // already pooled
            v.get(e);
        } else if (shape.length == 3 && shape[1] == tokens) {
            int rows = pooling == Pooling.CLS ? 1 : tokens;
            for (int r = 0; r < rows; r++) {
                for (int d = 0; d < dim; d++) {
                    e[d] += v.get(r * dim + d);
                }
            }
            for (int d = 0; d < dim; d++) {
                e[d] /= rows;
            }
        } else {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, output + " has shape " + java.util.Arrays.toString(shape)
                    + " for " + tokens + " tokens");
        }
        if (pooling == Pooling.MEAN_NORMALIZED) {
            double norm = 0;
            for (float x : e) {
                norm += (double) x * x;
            }
            float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int d = 0; d < dim; d++) {
                e[d] *= inv;
            }
        }
        return e;
    }
}
