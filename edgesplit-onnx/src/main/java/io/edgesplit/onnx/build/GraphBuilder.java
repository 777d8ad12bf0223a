package io.edgesplit.onnx.build;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds ONNX graphs with the OnnxMl protobuf builders. Node names carry a scope
 * ({@code /layers.3/attn/MatMul_2}) so that the partitioning engine can align blocks with layers.
 * Not thread-safe; one builder makes one model.
 */
public final class GraphBuilder {
    public static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    public static final int INT64 = TensorProto.DataType.INT64_VALUE;
    public static final int INT32 = TensorProto.DataType.INT32_VALUE;
    public static final int BOOL = TensorProto.DataType.BOOL_VALUE;

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Deque<String> scopes = new ArrayDeque<>();
    private final Map<String, Integer> counters = new LinkedHashMap<>();
    private final Map<String, String> int64Constants = new LinkedHashMap<>();
    private final Map<String, Float> floatConstants = new LinkedHashMap<>();

    public GraphBuilder(String name) {
        graph.setName(name);
    }

    /** Opens a name scope; close it with {@link #pop()}. */
    public GraphBuilder push(String scope) {
        scopes.push(scope);
        return this;
    }

    public GraphBuilder pop() {
        scopes.pop();
        return this;
    }

    private String scopePath() {
        StringBuilder sb = new StringBuilder();
        scopes.descendingIterator().forEachRemaining(s -> sb.append('/').append(s));
        return sb.toString();
    }

    /**
     * A graph input. Each dimension is a Long/Integer (fixed) or a String (symbolic).
     */
    public String input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
        return name;
    }

    public void output(String name, int elemType, Object... dims) {
        graph.addOutput(valueInfo(name, elemType, dims));
    }

    public static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof String s) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(s));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
            }
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    /** A float initializer; values are little-endian raw data. */
    public String weight(String name, float[] values, long... dims) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return rawInitializer(name, FLOAT, UnsafeByteOperations.unsafeWrap(buf.array()), dims);
    }

    /** An initializer of any element type from little-endian bytes. */
    public String rawInitializer(String name, int elemType, ByteString raw, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(elemType).setRawData(raw);
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return name;
    }

    /** An int64 constant (shared by value), e.g. axes and shapes. */
    public String int64(long... values) {
        return int64Shaped(values, new long[] {values.length});
    }

    /** A scalar int64 constant. */
    public String int64Scalar(long value) {
        return int64Shaped(new long[] {value}, new long[0]);
    }

    private String int64Shaped(long[] values, long[] dims) {
        StringBuilder key = new StringBuilder(dims.length == 0 ? "s" : "v");
        for (long v : values) {
            key.append('_').append(v < 0 ? "m" + -v : Long.toString(v));
        }
        return int64Constants.computeIfAbsent(key.toString(), k -> {
            String name = "const_i64_" + k;
            ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                buf.putLong(v);
            }
            return rawInitializer(name, INT64, UnsafeByteOperations.unsafeWrap(buf.array()), dims);
        });
    }

    /** A scalar float constant, named in the current scope and shared within it. */
    public String floatScalar(String name, float value) {
        String full = scopePath() + "/" + name;
        Float known = floatConstants.putIfAbsent(full, value);
        if (known != null) {
            if (Float.compare(known, value) != 0) {
                throw new IllegalArgumentException("constant " + full + " is already " + known + ", not " + value);
            }
            return full;
        }
        return weight(full, new float[] {value});
    }

    /** Starts a node of the default ONNX domain. */
    public Node op(String opType) {
        return new Node(opType, "");
    }

    /** Starts a node of the given domain (e.g. {@code com.microsoft}). */
    public Node op(String opType, String domain) {
        return new Node(opType, domain);
    }

    /** The graph alone, e.g. as the body of an If or Loop node. */
    public GraphProto graph() {
        return graph.build();
    }

    public ModelProto build(long irVersion, Map<String, Integer> opsets, String producer, Map<String, String> metadata) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(irVersion)
                .setProducerName(producer)
                .setGraph(graph);
        opsets.forEach((domain, version) ->
                m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version)));
        metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /** A node under construction; {@link #out()} adds it and returns its first output. */
    public final class Node {
        private final NodeProto.Builder node = NodeProto.newBuilder();
        private String name;

        private Node(String opType, String domain) {
            node.setOpType(opType);
            if (!domain.isEmpty()) {
                node.setDomain(domain);
            }
        }

        public Node in(String... inputs) {
            node.addAllInput(List.of(inputs));
            return this;
        }

        public Node name(String n) {
            this.name = n;
            return this;
        }

        public Node attr(String key, long value) {
            node.addAttribute(AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.INT).setI(value));
            return this;
        }

        public Node attr(String key, float value) {
            node.addAttribute(AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.FLOAT).setF(value));
            return this;
        }

        public Node attr(String key, long[] values) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.INTS);
            for (long v : values) {
                a.addInts(v);
            }
            node.addAttribute(a);
            return this;
        }

        public Node attr(String key, String value) {
            node.addAttribute(AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.STRING)
                    .setS(ByteString.copyFromUtf8(value)));
            return this;
        }

        public Node attr(String key, GraphProto value) {
            node.addAttribute(AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.GRAPH).setG(value));
            return this;
        }

        public Node attr(String key, TensorProto value) {
            node.addAttribute(AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.TENSOR).setT(value));
            return this;
        }

        /** Adds the node with one output, named after the node unless given. */
        public String out() {
            return outs(1)[0];
        }

        /** Adds the node with the given output names. */
        public String outNamed(String... outputs) {
            String full = nodeName();
            node.setName(full);
            node.addAllOutput(List.of(outputs));
            graph.addNode(node);
            return outputs[0];
        }

        /** Adds the node with n outputs named {@code <node>_output_i}. */
        public String[] outs(int n) {
            String full = nodeName();
            node.setName(full);
            String[] outputs = new String[n];
            for (int i = 0; i < n; i++) {
                outputs[i] = full + "_output_" + i;
                node.addOutput(outputs[i]);
            }
            graph.addNode(node);
            return outputs;
        }

        private String nodeName() {
            String base = scopePath() + "/" + (name != null ? name : node.getOpType());
            int k = counters.merge(base, 1, Integer::sum);
            return k == 1 ? base : base + "_" + (k - 1);
        }
    }
}
