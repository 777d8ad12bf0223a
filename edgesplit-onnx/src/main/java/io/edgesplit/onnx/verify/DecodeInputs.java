package io.edgesplit.onnx.verify;

import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.GraphIndex;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.runtime.Tensors;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds the inputs of one decode step of an arbitrary ONNX decoder from its input names: the new
 * token ids, their positions, an attention mask over cached plus new tokens, and zero token types.
 * KV inputs are left to the stages that hold the caches.
 */
public final class DecodeInputs {
    private enum Role { IDS, POSITIONS, MASK, TOKEN_TYPES }

    private final Map<ValueInfoProto, Role> roles = new LinkedHashMap<>();

    public DecodeInputs(GraphIndex index, List<StatePair> state) {
        Set<String> pasts = new HashSet<>();
        state.forEach(s -> pasts.add(s.past()));
        boolean ids = false;
        for (ValueInfoProto in : index.inputs()) {
            if (pasts.contains(in.getName())) {
                continue;
            }
            String n = in.getName().toLowerCase(Locale.ROOT);
            Role role;
            if (n.contains("mask")) {
                role = Role.MASK;
            } else if (n.contains("position")) {
                role = Role.POSITIONS;
            } else if (n.contains("token_type") || n.contains("segment")) {
                role = Role.TOKEN_TYPES;
            } else if (!ids && (n.contains("ids") || n.contains("token") || n.contains("input"))) {
                role = Role.IDS;
                ids = true;
            } else {
                throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "cannot drive decode steps: input '"
                        + in.getName() + "' is neither token ids, positions, attention mask nor KV cache");
            }
            roles.put(in, role);
        }
        if (!ids) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "cannot drive decode steps: no input looks like token ids (input_ids)");
        }
    }

    /** Inputs for one new token per row after {@code past} cached tokens; the caller closes them. */
    public Map<String, OnnxTensor> step(OrtEnvironment env, long[] tokens, long past) {
        long[][] rows = new long[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            rows[b] = new long[] {tokens[b]};
        }
        return step(env, rows, past);
    }

    /**
     * Inputs for {@code tokens[b]} (the same count per row) after {@code past} cached tokens: a
     * prompt (past 0) or one decode step. The caller closes them.
     */
    public Map<String, OnnxTensor> step(OrtEnvironment env, long[][] tokens, long past) {
        int seq = tokens[0].length;
        DimValues dims = new DimValues(tokens.length, seq, past, 1, 1, Map.of());
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (var e : roles.entrySet()) {
                ValueInfoProto vi = e.getKey();
                long[] shape = InputSynthesizer.shapeOf(vi, dims);
                int type = InputSynthesizer.elemTypeOf(vi);
                OnnxTensor t = switch (e.getValue()) {
                    case IDS -> Tensors.create(env, type, shape, i -> tokens[(int) (i / seq)][(int) (i % seq)]);
                    case POSITIONS -> Tensors.create(env, type, shape, i -> past + i % seq);
                    case MASK -> Tensors.create(env, type, shape, i -> 1);
                    case TOKEN_TYPES -> Tensors.create(env, type, shape, i -> 0);
                };
                out.put(vi.getName(), t);
            }
            return out;
        } catch (RuntimeException e) {
            out.values().forEach(OnnxTensor::close);
            throw e;
        }
    }

    /** Greedy choice per row from logits [batch, seq, vocab] (last position) or [batch, vocab]. */
    public static long[] argmaxLast(double[] logits, long[] shape) {
        int vocab = (int) shape[shape.length - 1];
        int batch = (int) shape[0];
        int rowStride = logits.length / batch;
        long[] out = new long[batch];
        for (int b = 0; b < batch; b++) {
            int base = b * rowStride + rowStride - vocab;
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits[base + v] > logits[base + best]) {
                    best = v;
                }
            }
            out[b] = best;
        }
        return out;
    }
}
