package io.edgesplit.onnx.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Slicing and joining KV-cache tensors along their position axis, for moving caches between
 * workers: the whole cache first, then only the positions added since (a delta). The position axis
 * is the second to last ({@code [batch, heads, positions, head_dim]}, also
 * {@code [2, batch, heads, positions, head_dim]}), as in every decoder EdgeSplit builds or imports.
 */
public final class KvTensors {
    private KvTensors() {}

    /** Cached positions of a KV tensor. */
    public static long positions(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        return shape.length < 2 ? 0 : shape[shape.length - 2];
    }

    /** A new tensor of positions {@code from} to the end of {@code t}. The caller closes it. */
    public static OnnxTensor from(OnnxTensor t, long from) {
        long[] shape = t.getInfo().getShape();
        int axis = axis(shape);
        if (from < 0 || from > shape[axis]) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "KV positions from " + from + " of a cache with "
                    + shape[axis]);
        }
        int size = t.getInfo().type.size;
        long inner = shape[shape.length - 1] * size;
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        ByteBuffer src = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long keep = shape[axis] - from;
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(outer * keep * inner)).order(ByteOrder.LITTLE_ENDIAN);
        for (long o = 0; o < outer; o++) {
            int start = Math.toIntExact((o * shape[axis] + from) * inner);
            out.put(src.slice(start, Math.toIntExact(keep * inner)));
        }
        out.flip();
        long[] sliced = shape.clone();
        sliced[axis] = keep;
        return create(out, sliced, t);
    }

    /** A new tensor of {@code a}'s positions followed by {@code b}'s. The caller closes all three. */
    public static OnnxTensor concat(OnnxTensor a, OnnxTensor b) {
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
        int size = a.getInfo().type.size;
        long inner = sa[sa.length - 1] * size;
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= sa[i];
        }
        ByteBuffer x = a.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer y = b.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long total = sa[axis] + sb[axis];
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(outer * total * inner)).order(ByteOrder.LITTLE_ENDIAN);
        int na = Math.toIntExact(sa[axis] * inner);
        int nb = Math.toIntExact(sb[axis] * inner);
        for (long o = 0; o < outer; o++) {
            out.put(x.slice(Math.toIntExact(o * na), na));
            out.put(y.slice(Math.toIntExact(o * nb), nb));
        }
        out.flip();
        long[] joined = sa.clone();
        joined[axis] = total;
        return create(out, joined, a);
    }

    private static int axis(long[] shape) {
        if (shape.length < 3) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "a KV tensor of shape " + Arrays.toString(shape)
                    + " has no position axis (rank >= 3 expected)");
        }
        return shape.length - 2;
    }

    private static OnnxTensor create(ByteBuffer data, long[] shape, OnnxTensor like) {
        try {
            return OnnxTensor.createTensor(OrtRuntime.get().env(), data, shape, like.getInfo().type);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "cannot make a KV tensor: " + e.getMessage(), e);
        }
    }
}
