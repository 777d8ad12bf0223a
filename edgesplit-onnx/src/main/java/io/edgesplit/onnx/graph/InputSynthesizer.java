package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.runtime.Tensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded inputs made from a graph's input signature: ids within the vocabulary (found from the
 * embedding table the ids index), masks of ones, positions counting on from the cached length,
 * type ids of zero, and standard normal floats for everything else.
 */
public final class InputSynthesizer {
    private static final Set<String> PASS_THROUGH = Set.of(
            "Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Expand");

    private final GraphIndex index;
    private final long seed;

    public InputSynthesizer(GraphIndex index, long seed) {
        this.index = index;
        this.seed = seed;
    }

    /** Shape of a graph input under the given dimension values. */
    public static long[] shapeOf(ValueInfoProto input, DimValues dims) {
        TypeProto type = input.getType();
        if (!type.hasTensorType()) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "input '" + input.getName() + "' is not a tensor; give inputs with --inputs");
        }
        if (!type.getTensorType().hasShape()) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "input '" + input.getName() + "' has no shape in the model; give inputs with --inputs");
        }
        List<TensorShapeProto.Dimension> dims0 = type.getTensorType().getShape().getDimList();
        long[] shape = new long[dims0.size()];
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension d = dims0.get(i);
            shape[i] = d.hasDimValue() ? d.getDimValue() : dims.valueOf(d.getDimParam());
        }
        return shape;
    }

    public static int elemTypeOf(ValueInfoProto input) {
        return input.getType().getTensorType().getElemType();
    }

    /** One tensor per graph input; the caller closes them. Inputs named in {@code skip} are left out. */
    public Map<String, OnnxTensor> create(OrtEnvironment env, DimValues dims, Set<String> skip) {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (ValueInfoProto in : index.inputs()) {
                if (!skip.contains(in.getName())) {
                    out.put(in.getName(), create(env, in, dims));
                }
            }
            return out;
        } catch (RuntimeException e) {
            out.values().forEach(OnnxTensor::close);
            throw e;
        }
    }

    public OnnxTensor create(OrtEnvironment env, ValueInfoProto in, DimValues dims) {
        long[] shape = shapeOf(in, dims);
        int type = elemTypeOf(in);
        String name = in.getName().toLowerCase(Locale.ROOT);
        Random random = new Random(seed * 31 + in.getName().hashCode());
        if (DataTypes.isInteger(type)) {
            if (name.contains("mask")) {
                return Tensors.create(env, type, shape, i -> 1);
            }
            if (name.contains("position")) {
                long last = shape.length == 0 ? 1 : Math.max(1, shape[shape.length - 1]);
                long past = dims.past();
                return Tensors.create(env, type, shape, i -> past + i % last);
            }
            if (name.contains("token_type") || name.contains("segment")) {
                return Tensors.create(env, type, shape, i -> 0);
            }
            long bound = indexBound(in.getName());
            return Tensors.create(env, type, shape, i -> random.nextLong(bound));
        }
        if (type == TensorProto.DataType.BOOL_VALUE) {
            return Tensors.create(env, type, shape, i -> 1);
        }
        if (name.contains("mask")) {
            return Tensors.create(env, type, shape, i -> 1);
        }
        return Tensors.create(env, type, shape, i -> random.nextGaussian());
    }

    /**
     * How many distinct ids an integer input may take: the row count of the embedding table it
     * indexes, following casts and reshapes; 2 when no table is found.
     */
    public long indexBound(String tensor) {
        long bound = indexBound(tensor, 0);
        return bound > 0 ? bound : 2;
    }

    private long indexBound(String tensor, int depth) {
        if (depth > 8) {
            return -1;
        }
        long best = -1;
        for (int c : index.consumersOf(tensor)) {
            NodeProto n = index.node(c);
            long found = -1;
            if (PASS_THROUGH.contains(n.getOpType()) && n.getInput(0).equals(tensor)) {
                found = indexBound(n.getOutput(0), depth + 1);
            } else if (n.getOpType().equals("Gather") && n.getInputCount() > 1 && n.getInput(1).equals(tensor)) {
                found = rows(n.getInput(0));
            } else if (n.getOpType().equals("EmbedLayerNormalization")) {
                int pos = n.getInputList().indexOf(tensor);
                int table = switch (pos) {
                    case 0 -> 2;
                    case 1 -> 4;
                    case 8 -> 3;
                    default -> -1;
                };
                found = table >= 0 && n.getInputCount() > table ? rows(n.getInput(table)) : -1;
            }
            if (found > 0) {
                best = best < 0 ? found : Math.min(best, found);
            }
        }
        return best;
    }

    private long rows(String tensor) {
        TensorProto t = index.initializer(tensor);
        return t != null && t.getDimsCount() > 0 ? t.getDims(0) : -1;
    }
}
