package io.edgesplit.onnx.runtime;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.build.GraphBuilder;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slicing and joining KV-cache tensors along their position axis, for moving caches between
 * workers: the whole cache first, then only the positions added since (a delta). The position axis
 * is the second to last ({@code [batch, heads, positions, head_dim]}, also
 * {@code [2, batch, heads, positions, head_dim]}), as in every decoder EdgeSplit builds or imports.
 *
 * <p>Both run as tiny ONNX graphs (Slice, Concat) in ONNX Runtime, so a cache is read once in
 * native memory instead of being copied whole into Java first: slicing a few positions off a
 * 75 MB cache copies only those.
 */
public final class KvTensors {
    private static final Map<String, OrtSession> SESSIONS = new ConcurrentHashMap<>();

    private KvTensors() {}

    /** A tensor and the ORT result that owns it: close the result when done. */
    public record Owned(OnnxTensor tensor, OrtSession.Result owner) implements AutoCloseable {
        @Override
        public void close() {
            owner.close();
        }
    }

    /** Cached positions of a KV tensor. */
    public static long positions(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        return shape.length < 2 ? 0 : shape[shape.length - 2];
    }

    /** Positions {@code from} to the end of {@code t}, as a new tensor. */
    public static Owned from(OnnxTensor t, long from) {
        return from(t, from, axis(t.getInfo().getShape()));
    }

    /** Indices {@code from} to the end of {@code t} along {@code axis}, as a new tensor. */
    public static Owned from(OnnxTensor t, long from, int axis) {
        long[] shape = t.getInfo().getShape();
        if (axis < 0 || axis >= shape.length) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "no axis " + axis + " in " + Arrays.toString(shape));
        }
        if (from < 0 || from > shape[axis]) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "KV positions from " + from + " of a cache with "
                    + shape[axis]);
        }
        var env = OrtRuntime.get().env();
        try (OnnxTensor starts = OnnxTensor.createTensor(env, new long[] {from});
                OnnxTensor ends = OnnxTensor.createTensor(env, new long[] {shape[axis]});
                OnnxTensor axes = OnnxTensor.createTensor(env, new long[] {axis})) {
            OrtSession s = session("Slice", t, shape.length);
            return run(s, Map.of("data", t, "starts", starts, "ends", ends, "axes", axes));
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "cannot slice a KV tensor: " + e.getMessage(), e);
        }
    }

    /** {@code a}'s positions followed by {@code b}'s, as a new tensor. */
    public static Owned concat(OnnxTensor a, OnnxTensor b) {
        long[] sa = a.getInfo().getShape();
        long[] sb = b.getInfo().getShape();
        int axis = axis(sa);
        boolean same = sa.length == sb.length && a.getInfo().type == b.getInfo().type;
        for (int i = 0; same && i < sa.length; i++) {
            same = i == axis || sa[i] == sb[i];
        }
        if (!same) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "KV delta " + b.getInfo().type + Arrays.toString(sb)
                    + " does not fit the cache " + a.getInfo().type + Arrays.toString(sa));
        }
        return run(session("Concat", a, sa.length), Map.of("a", a, "b", b));
    }

    private static Owned run(OrtSession s, Map<String, OnnxTensor> feeds) {
        try {
            OrtSession.Result r = s.run(feeds);
            return new Owned((OnnxTensor) r.get(0), r);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "KV tensor operation failed: " + e.getMessage(), e);
        }
    }

    private static OrtSession session(String op, OnnxTensor like, int rank) {
        int type = onnxType(like);
        return SESSIONS.computeIfAbsent(op + "/" + type + "/" + rank, k -> {
            GraphBuilder g = new GraphBuilder("kv_" + op.toLowerCase());
            Object[] dims = new Object[rank];
            for (int i = 0; i < rank; i++) {
                dims[i] = "d" + i;
            }
            String out;
            if (op.equals("Slice")) {
                g.input("data", type, dims);
                g.input("starts", GraphBuilder.INT64, 1);
                g.input("ends", GraphBuilder.INT64, 1);
                g.input("axes", GraphBuilder.INT64, 1);
                out = g.op("Slice").in("data", "starts", "ends", "axes").out();
            } else {
                g.input("a", type, dims);
                Object[] other = dims.clone();
                other[rank - 2] = "delta";
                g.input("b", type, other);
                out = g.op("Concat").in("a", "b").attr("axis", rank - 2).out();
            }
            g.output(out, type);
            byte[] model = g.build(8, Map.of("", 17), "edgesplit-kv", Map.of()).toByteArray();
            return OrtRuntime.get().openWithThreads(model, "KV " + op, 1);
        });
    }

    private static int onnxType(OnnxTensor t) {
        return switch (t.getInfo().type) {
            case FLOAT -> DataType.FLOAT_VALUE;
            case FLOAT16 -> DataType.FLOAT16_VALUE;
            case BFLOAT16 -> DataType.BFLOAT16_VALUE;
            case DOUBLE -> DataType.DOUBLE_VALUE;
            default -> throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "KV caches of " + t.getInfo().type
                    + " do not move");
        };
    }

    private static int axis(long[] shape) {
        if (shape.length < 3) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "a KV tensor of shape " + Arrays.toString(shape)
                    + " has no position axis (rank >= 3 expected)");
        }
        return shape.length - 2;
    }
}
