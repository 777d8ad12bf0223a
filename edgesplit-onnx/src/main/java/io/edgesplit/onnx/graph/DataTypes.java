package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.TensorInfo.OnnxTensorType;

/**
 * ONNX element types: sizes, and the mapping from ONNX Runtime's Java enum. ORT Java numbers its
 * element types differently from ONNX, so the mapping goes by name.
 */
public final class DataTypes {
    private static final String ORT_PREFIX = "ONNX_TENSOR_ELEMENT_DATA_TYPE_";

    private DataTypes() {}

    /** Bytes per element; 0 for strings and unknown types. */
    public static int size(int onnxType) {
        DataType t = DataType.forNumber(onnxType);
        if (t == null) {
            return 0;
        }
        return switch (t) {
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64, COMPLEX64 -> 8;
            case COMPLEX128 -> 16;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            case INT8, UINT8, BOOL -> 1;
            default -> 0;
        };
    }

    public static String name(int onnxType) {
        DataType t = DataType.forNumber(onnxType);
        return t == null ? "type" + onnxType : t.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The ONNX element type for an ORT element type, or 0 (UNDEFINED) if ONNX has no such name. */
    public static int fromOrt(OnnxTensorType ortType) {
        String name = ortType.name();
        if (!name.startsWith(ORT_PREFIX)) {
            return 0;
        }
        try {
            return DataType.valueOf(name.substring(ORT_PREFIX.length())).getNumber();
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    public static boolean isFloating(int onnxType) {
        return onnxType == DataType.FLOAT_VALUE || onnxType == DataType.DOUBLE_VALUE
                || onnxType == DataType.FLOAT16_VALUE || onnxType == DataType.BFLOAT16_VALUE;
    }

    public static boolean isInteger(int onnxType) {
        return onnxType == DataType.INT64_VALUE || onnxType == DataType.INT32_VALUE
                || onnxType == DataType.INT16_VALUE || onnxType == DataType.INT8_VALUE
                || onnxType == DataType.UINT8_VALUE || onnxType == DataType.UINT16_VALUE
                || onnxType == DataType.UINT32_VALUE || onnxType == DataType.UINT64_VALUE;
    }
}
