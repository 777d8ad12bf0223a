package io.edgesplit.worker;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * ORT tensors to wire tensors and back: element type by name, shape, little-endian bytes and a
 * CRC32C. Outgoing, ORT's copy of the output ({@code getByteBuffer}) is wrapped into the message
 * without another; incoming, the message bytes are copied once into a direct buffer that the ORT
 * tensor uses in place.
 */
public final class TensorCodec {
    /** Largest tensor accepted from the wire (elements x size), guarding the worker's memory. */
    public static final long MAX_BYTES = 256L << 20;

    private TensorCodec() {}

    public static Tensor encode(String name, OnnxTensor t) {
        TensorInfo info = t.getInfo();
        ByteBuffer data;
        if (info.type == OnnxJavaType.STRING) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + name + ": string tensors do not travel");
        }
        data = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        crc.update(data.duplicate());
        Tensor.Builder b = Tensor.newBuilder().setName(name).setDtype(dtype(info.type)).setCrc32C((int) crc.getValue());
        for (long d : info.getShape()) {
            b.addShape(d);
        }
        return b.setData(UnsafeByteOperations.unsafeWrap(data)).build();
    }

    /** Checks the tensor's CRC, type and size, then makes an ORT tensor of it. The caller closes it. */
    public static OnnxTensor decode(OrtEnvironment env, Tensor t) {
        return decode(env, t, n -> ByteBuffer.allocateDirect(n).order(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * As {@link #decode(OrtEnvironment, Tensor)}, into a direct little-endian buffer of the given
     * size (position 0, limit the size) from {@code buffer}, which the tensor uses in place: the
     * buffer must stay untouched until the tensor is closed.
     */
    static OnnxTensor decode(OrtEnvironment env, Tensor t, java.util.function.IntFunction<ByteBuffer> buffer) {
        OnnxJavaType type = type(t.getName(), t.getDtype());
        long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
        ByteString data = checked(t, type, shape);
        ByteBuffer direct = buffer.apply(data.size());
        data.copyTo(direct);
        direct.flip();
        try {
            return OnnxTensor.createTensor(env, direct, shape, type);
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "cannot make tensor " + t.getName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The float32 elements of a tensor from the wire, checked as {@link #decode} checks them, read
     * in place (no ORT tensor): for a consumer on the JVM side, such as pooling at the gateway.
     */
    public static FloatBuffer floats(Tensor t) {
        OnnxJavaType type = type(t.getName(), t.getDtype());
        if (type != OnnxJavaType.FLOAT) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + " is " + t.getDtype() + ", not float32");
        }
        long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
        return checked(t, type, shape).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    /**
     * The last row of a float32 tensor [.., n] from the wire (a result's logits at its last
     * position), checked as {@link #floats} checks it and read in place: no ORT tensor.
     */
    public static float[] lastRow(Tensor t) {
        if (t.getShapeCount() == 0) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + " is a scalar, not rows");
        }
        FloatBuffer all = floats(t);
        long n = t.getShape(t.getShapeCount() - 1);
        if (n <= 0 || n > all.limit()) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + " has no row: shape " + t.getShapeList());
        }
        float[] row = new float[(int) n];
        all.get(all.limit() - row.length, row);
        return row;
    }

    /** The tensor's bytes, once its dimensions, size limit, byte count and CRC32C are right. */
    private static ByteString checked(Tensor t, OnnxJavaType type, long[] shape) {
        long expected = type.size;
        for (long d : shape) {
            if (d < 0) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + ": negative dimension " + d);
            }
            try {
                expected = Math.multiplyExact(expected, d);
            } catch (ArithmeticException e) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + ": dimensions "
                        + java.util.Arrays.toString(shape) + " overflow a 64-bit size");
            }
        }
        if (expected > MAX_BYTES) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + " of " + expected
                    + " bytes is over the limit of " + MAX_BYTES);
        }
        ByteString data = t.getData();
        if (data.size() != expected) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + ": shape and " + t.getDtype()
                    + " need " + expected + " bytes, the message has " + data.size());
        }
        CRC32C crc = new CRC32C();
        for (ByteBuffer part : data.asReadOnlyByteBufferList()) {
            crc.update(part);
        }
        if ((int) crc.getValue() != t.getCrc32C()) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + t.getName() + " failed its CRC32C check");
        }
        return data;
    }

    static String dtype(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> "float32";
            case DOUBLE -> "float64";
            case INT8 -> "int8";
            case UINT8 -> "uint8";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case BOOL -> "bool";
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            default -> throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "element type " + type + " does not travel");
        };
    }

    static OnnxJavaType type(String name, String dtype) {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "float32" -> OnnxJavaType.FLOAT;
            case "float64" -> OnnxJavaType.DOUBLE;
            case "int8" -> OnnxJavaType.INT8;
            case "uint8" -> OnnxJavaType.UINT8;
            case "int16" -> OnnxJavaType.INT16;
            case "int32" -> OnnxJavaType.INT32;
            case "int64" -> OnnxJavaType.INT64;
            case "bool" -> OnnxJavaType.BOOL;
            case "float16" -> OnnxJavaType.FLOAT16;
            case "bfloat16" -> OnnxJavaType.BFLOAT16;
            default -> throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "tensor " + name + ": unknown dtype '" + dtype + "'");
        };
    }
}
