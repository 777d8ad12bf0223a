package io.edgesplit.onnx.verify;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import com.google.protobuf.InvalidProtocolBufferException;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.DataTypes;
import io.edgesplit.onnx.graph.GraphIndex;
import io.edgesplit.onnx.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads inputs in the ONNX test-data layout: {@code input_0.pb}, {@code input_1.pb}, ... each a
 * serialized TensorProto. A tensor is matched to a graph input by its name, or else by its number.
 */
public final class InputFiles {
    /** Largest input file read. */
    static final long MAX_FILE_BYTES = 1L << 30;

    private InputFiles() {}

    public static Map<String, OnnxTensor> read(Path dir, GraphIndex index, OrtEnvironment env) {
        if (!Files.isDirectory(dir)) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, "--inputs " + dir + " is not a directory");
        }
        List<ValueInfoProto> inputs = index.inputs();
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (int i = 0; ; i++) {
                Path file = dir.resolve("input_" + i + ".pb");
                if (!Files.isRegularFile(file)) {
                    break;
                }
                if (Files.size(file) > MAX_FILE_BYTES) {
                    throw new EdgeSplitException(ErrorCode.INPUT_INVALID, file + " is larger than " + MAX_FILE_BYTES + " bytes");
                }
                TensorProto proto;
                try {
                    proto = TensorProto.parseFrom(Files.readAllBytes(file));
                } catch (InvalidProtocolBufferException e) {
                    throw new EdgeSplitException(ErrorCode.INPUT_INVALID, file + " is not a serialized ONNX TensorProto");
                }
                String name = proto.getName();
                if (name.isEmpty() || !index.isGraphInput(name)) {
                    if (i >= inputs.size()) {
                        throw new EdgeSplitException(ErrorCode.INPUT_INVALID,
                                file + ": the model has only " + inputs.size() + " inputs");
                    }
                    name = inputs.get(i).getName();
                }
                int declared = elemType(inputs, name);
                if (declared != 0 && declared != proto.getDataType()) {
                    throw new EdgeSplitException(ErrorCode.INPUT_INVALID, String.format(
                            "%s: input '%s' must be %s but the file holds %s", file, name,
                            DataTypes.name(declared), DataTypes.name(proto.getDataType())));
                }
                out.put(name, Tensors.fromProto(env, proto));
            }
        } catch (IOException e) {
            out.values().forEach(OnnxTensor::close);
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "cannot read inputs from " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            out.values().forEach(OnnxTensor::close);
            throw e;
        }
        if (out.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.INPUT_INVALID, dir + " holds no input_0.pb");
        }
        return out;
    }

    private static int elemType(List<ValueInfoProto> inputs, String name) {
        for (ValueInfoProto vi : inputs) {
            if (vi.getName().equals(name)) {
                return vi.getType().getTensorType().getElemType();
            }
        }
        return 0;
    }
}
