package io.edgesplit.onnx.runtime;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.DataTypes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import java.util.function.LongToDoubleFunction;

/** Creating and reading ORT tensors: direct little-endian buffers, element types by ONNX number. */
public final class Tensors {
    /** Largest tensor created from synthetic or file inputs. */
    public static final long MAX_ELEMENTS = 1L << 28;

    private Tensors() {}

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** A tensor whose element at flat index i is {@code values.applyAsDouble(i)}, converted to the type. */
    public static OnnxTensor create(OrtEnvironment env, int elemType, long[] shape, LongToDoubleFunction values) {
        long count;
        try {
            count = elementCount(shape);
        } catch (ArithmeticException e) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "shape " + Arrays.toString(shape) + " overflows");
        }
        if (count > MAX_ELEMENTS) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID,
                    "shape " + Arrays.toString(shape) + " has " + count + " elements, over " + MAX_ELEMENTS);
        }
        int size = DataTypes.size(elemType);
        if (size == 0) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "cannot make tensors of element type " + DataTypes.name(elemType));
        }
        ByteBuffer buf = ByteBuffer.allocateDirect((int) (count * size)).order(ByteOrder.LITTLE_ENDIAN);
        DataType type = DataType.forNumber(elemType);
        for (long i = 0; i < count; i++) {
            double v = values.applyAsDouble(i);
            switch (type) {
                case FLOAT -> buf.putFloat((float) v);
                case DOUBLE -> buf.putDouble(v);
                case FLOAT16 -> buf.putShort(Float.floatToFloat16((float) v));
                case BFLOAT16 -> buf.putShort((short) (Float.floatToRawIntBits((float) v) >>> 16));
                case INT64, UINT64 -> buf.putLong((long) v);
                case INT32, UINT32 -> buf.putInt((int) v);
                case INT16, UINT16 -> buf.putShort((short) v);
                case INT8, UINT8 -> buf.put((byte) v);
                case BOOL -> buf.put((byte) (v != 0 ? 1 : 0));
                default -> throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                        "cannot make tensors of element type " + DataTypes.name(elemType));
            }
        }
        buf.flip();
        return fromBytes(env, elemType, shape, buf);
    }

    /** Wraps little-endian bytes (a direct buffer is used without copying). */
    public static OnnxTensor fromBytes(OrtEnvironment env, int elemType, long[] shape, ByteBuffer bytes) {
        try {
            return OnnxTensor.createTensor(env, bytes, shape, javaType(elemType));
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID,
                    "cannot make a tensor of " + DataTypes.name(elemType) + Arrays.toString(shape) + ": " + e.getMessage(), e);
        }
    }

    public static OnnxJavaType javaType(int elemType) {
        DataType type = DataType.forNumber(elemType);
        if (type == null) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "unknown element type " + elemType);
        }
        OnnxJavaType java = javaTypeOrNull(elemType);
        if (java == null) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "ONNX Runtime Java cannot take tensors of element type " + type.name().toLowerCase());
        }
        return java;
    }

    /** ORT Java's type for an ONNX element type, or null where it has none. */
    public static OnnxJavaType javaTypeOrNull(int elemType) {
        DataType type = DataType.forNumber(elemType);
        if (type == null) {
            return null;
        }
        return switch (type) {
            case FLOAT -> OnnxJavaType.FLOAT;
            case DOUBLE -> OnnxJavaType.DOUBLE;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case BFLOAT16 -> OnnxJavaType.BFLOAT16;
            case INT64 -> OnnxJavaType.INT64;
            case INT32 -> OnnxJavaType.INT32;
            case INT16 -> OnnxJavaType.INT16;
            case INT8 -> OnnxJavaType.INT8;
            case UINT8 -> OnnxJavaType.UINT8;
            case BOOL -> OnnxJavaType.BOOL;
            default -> null;
        };
    }

    /** A tensor from an ONNX TensorProto ({@code input_0.pb}), raw or typed data. */
    public static OnnxTensor fromProto(OrtEnvironment env, TensorProto proto) {
        long[] shape = proto.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = elementCount(shape);
        int type = proto.getDataType();
        int size = DataTypes.size(type);
        String what = "tensor '" + proto.getName() + "'";
        if (size == 0) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, what + " has unsupported type " + DataTypes.name(type));
        }
        if (proto.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, what + " uses external data, which inputs may not");
        }
        if (!proto.getRawData().isEmpty()) {
            if (proto.getRawData().size() != count * size) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID, String.format(
                        "%s: raw_data has %d bytes but shape %s of %s needs %d", what, proto.getRawData().size(),
                        Arrays.toString(shape), DataTypes.name(type), count * size));
            }
            ByteBuffer buf = ByteBuffer.allocateDirect((int) (count * size)).order(ByteOrder.LITTLE_ENDIAN);
            proto.getRawData().copyTo(buf);
            buf.flip();
            return fromBytes(env, type, shape, buf);
        }
        DataType dt = DataType.forNumber(type);
        int available = switch (dt) {
            case FLOAT -> proto.getFloatDataCount();
            case DOUBLE -> proto.getDoubleDataCount();
            case INT64 -> proto.getInt64DataCount();
            case UINT64, UINT32 -> proto.getUint64DataCount();
            default -> proto.getInt32DataCount();
        };
        if (available != count) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, String.format(
                    "%s has %d values but shape %s needs %d", what, available, Arrays.toString(shape), count));
        }
        return create(env, type, shape, i -> switch (dt) {
            case FLOAT -> proto.getFloatData((int) i);
            case DOUBLE -> proto.getDoubleData((int) i);
            case INT64 -> proto.getInt64Data((int) i);
            case UINT64, UINT32 -> proto.getUint64Data((int) i);
            case FLOAT16 -> Float.float16ToFloat((short) proto.getInt32Data((int) i));
            case BFLOAT16 -> Float.intBitsToFloat(proto.getInt32Data((int) i) << 16);
            default -> proto.getInt32Data((int) i);
        });
    }

    /** The elements as doubles, for comparing outputs. Not for the hot path. */
    public static double[] toDoubles(OnnxTensor t) {
        int elemType = DataTypes.fromOrt(t.getInfo().onnxType);
        ByteBuffer b = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) t.getInfo().getNumElements();
        double[] out = new double[n];
        DataType dt = DataType.forNumber(elemType);
        for (int i = 0; i < n; i++) {
            out[i] = switch (dt) {
                case FLOAT -> b.getFloat();
                case DOUBLE -> b.getDouble();
                case FLOAT16 -> Float.float16ToFloat(b.getShort());
                case BFLOAT16 -> Float.intBitsToFloat(b.getShort() << 16);
                case INT64, UINT64 -> b.getLong();
                case INT32, UINT32 -> b.getInt();
                case INT16, UINT16 -> b.getShort();
                case INT8, UINT8, BOOL -> b.get();
                default -> throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                        "cannot read tensors of type " + DataTypes.name(elemType));
            };
        }
        return out;
    }

    /** Seeded standard normal values, for synthetic inputs. */
    public static LongToDoubleFunction gaussian(long seed) {
        Random r = new Random(seed);
        return i -> r.nextGaussian();
    }
}
