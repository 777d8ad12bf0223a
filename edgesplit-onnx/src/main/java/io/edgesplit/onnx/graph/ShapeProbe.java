package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.onnxruntime.TensorInfo;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.runtime.ExternalInitializers;
import io.edgesplit.onnx.runtime.OrtRuntime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Learns the element type and shape of every tensor in a graph by running it: Java has no ONNX
 * shape inference, so the graph is run twice with every node output exposed, at two different
 * sets of dimension values. Axes that changed between the runs are symbolic.
 */
public final class ShapeProbe {
    /** First run: small, pairwise distinct values so that roles can be told apart. */
    public static final DimValues RUN_A = new DimValues(2, 5, 3, 32, 3, Map.of());
    /** Second run: other distinct values. */
    public static final DimValues RUN_B = new DimValues(3, 7, 4, 64, 5, Map.of());

    private ShapeProbe() {}

    /**
     * Results of both runs.
     *
     * @param tensors every graph input and node output that is a tensor
     * @param dimNames symbolic names for (value in A, value in B) pairs, from the graph inputs
     * @param units work units in run A: tokens (batch x sequence) or samples (batch)
     * @param unit {@code token} or {@code sample}
     */
    public record Result(Map<String, TensorMeta> tensors, Map<Long, String> dimNames, double units, String unit) {
        public TensorMeta meta(String name) {
            return tensors.get(name);
        }

        /** A symbolic name for an axis that varies, stable across tensors. */
        public String dimName(long a, long b) {
            String known = dimNames.get(pairKey(a, b));
            return known != null ? known : "dyn_" + a + "_" + b;
        }
    }

    static long pairKey(long a, long b) {
        return a * 1_000_003L + b;
    }

    public static Result run(ModelProto model, GraphIndex index, Map<String, Long> byName, String what) {
        DimValues a = RUN_A.withByName(byName);
        Map<String, Long> doubled = new HashMap<>();
        byName.forEach((k, v) -> doubled.put(k, v * 2));
        DimValues b = RUN_B.withByName(doubled);
        OrtRuntime ort = OrtRuntime.get();
        InputSynthesizer synth = new InputSynthesizer(index, 7);
        try (OrtRuntime.Opened opened = ort.open(exposeAllOutputs(model, index), ExternalInitializers.INLINE_LIMIT, what,
                OptLevel.NO_OPT)) {
            OrtSession session = opened.session();
            Map<String, long[]> shapesA = new HashMap<>();
            Map<String, Integer> types = new HashMap<>();
            runOnce(session, synth, ort, a, shapesA, types, what);
            Map<String, long[]> shapesB = new HashMap<>();
            runOnce(session, synth, ort, b, shapesB, new HashMap<>(), what);
            Map<String, TensorMeta> metas = new LinkedHashMap<>();
            for (var e : shapesA.entrySet()) {
                long[] sb = shapesB.getOrDefault(e.getKey(), e.getValue());
                metas.put(e.getKey(), new TensorMeta(e.getKey(), types.get(e.getKey()), e.getValue(), sb));
            }
            return new Result(metas, dimNames(index, a, b), units(index, a), unit(index));
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED,
                    "cannot run " + what + " to learn its tensor shapes: " + e.getMessage(), e);
        }
    }

    private static void runOnce(OrtSession session, InputSynthesizer synth, OrtRuntime ort, DimValues dims,
            Map<String, long[]> shapes, Map<String, Integer> types, String what) throws OrtException {
        Map<String, OnnxTensor> inputs = synth.create(ort.env(), dims, Set.of());
        try {
            for (var e : inputs.entrySet()) {
                TensorInfo info = e.getValue().getInfo();
                shapes.put(e.getKey(), info.getShape());
                types.put(e.getKey(), DataTypes.fromOrt(info.onnxType));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    if (e.getValue() instanceof OnnxTensor t) {
                        TensorInfo info = t.getInfo();
                        shapes.put(e.getKey(), info.getShape());
                        types.put(e.getKey(), DataTypes.fromOrt(info.onnxType));
                    }
                }
            }
        } catch (OrtException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, "cannot run " + what
                    + " on synthetic inputs (set symbolic dimensions with --dim NAME=VALUE, or give --inputs): "
                    + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** The model with every top-level node output added as a name-only graph output. */
    static ModelProto exposeAllOutputs(ModelProto model, GraphIndex index) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        Set<String> present = new HashSet<>(index.outputNames());
        for (ValueInfoProto in : g.getInputList()) {
            present.add(in.getName());
        }
        for (int i = 0; i < index.nodeCount(); i++) {
            NodeProto n = index.node(i);
            for (String out : n.getOutputList()) {
                if (!out.isEmpty() && present.add(out)) {
                    g.addOutput(ValueInfoProto.newBuilder().setName(out));
                }
            }
        }
        return model.toBuilder().setGraph(shapeEquivalentAttention(g)).build();
    }

    /**
     * ONNX Runtime's GroupQueryAttention refuses the probe's inputs (batch above 1 with a prompt after a
     * cache). For the probe each one becomes plain ops giving the same output shapes (its values do not
     * matter here): the output shaped like the query [B,S,H*Dh], and each present the past with the new
     * [B,S,KV*Dh] keys or values appended as [B,KV,S,Dh].
     */
    static GraphProto.Builder shapeEquivalentAttention(GraphProto.Builder g) {
        boolean any = g.getNodeList().stream().anyMatch(ShapeProbe::isFusedAttention);
        if (!any) {
            return g;
        }
        List<NodeProto> nodes = new ArrayList<>(g.getNodeList());
        g.clearNode();
        int k = 0;
        for (NodeProto n : nodes) {
            if (!isFusedAttention(n)) {
                g.addNode(n);
                continue;
            }
            long kvHeads = n.getAttributeList().stream().filter(a -> a.getName().equals("kv_num_heads")).findFirst()
                    .orElseThrow(() -> new EdgeSplitException(ErrorCode.MODEL_INVALID, "GroupQueryAttention node "
                            + n.getName() + " has no kv_num_heads"))
                    .getI();
            String p = "probe_gqa_" + k++ + "_";
            g.addInitializer(TensorProto.newBuilder().setName(p + "shape")
                    .setDataType(TensorProto.DataType.INT64_VALUE).addDims(4)
                    .addAllInt64Data(List.of(0L, 0L, kvHeads, -1L)));
            g.addNode(NodeProto.newBuilder().setOpType("Identity").setName(p + "out").addInput(n.getInput(0))
                    .addOutput(n.getOutput(0)));
            for (int i = 1; i <= 2 && i < n.getOutputCount(); i++) {
                String heads = p + i + "_heads";
                String moved = p + i + "_moved";
                g.addNode(NodeProto.newBuilder().setOpType("Reshape").setName(heads).addInput(n.getInput(i))
                        .addInput(p + "shape").addOutput(heads));
                g.addNode(NodeProto.newBuilder().setOpType("Transpose").setName(moved).addInput(heads).addOutput(moved)
                        .addAttribute(AttributeProto.newBuilder().setName("perm")
                                .setType(AttributeProto.AttributeType.INTS)
                                .addAllInts(List.of(0L, 2L, 1L, 3L))));
                g.addNode(NodeProto.newBuilder().setOpType("Concat").setName(p + i + "_present").addInput(n.getInput(i + 2))
                        .addInput(moved).addOutput(n.getOutput(i))
                        .addAttribute(AttributeProto.newBuilder().setName("axis")
                                .setType(AttributeProto.AttributeType.INT).setI(2)));
            }
        }
        return g;
    }

    private static boolean isFusedAttention(NodeProto n) {
        return n.getOpType().equals("GroupQueryAttention") && n.getDomain().equals("com.microsoft");
    }

    private static Map<Long, String> dimNames(GraphIndex index, DimValues a, DimValues b) {
        Map<Long, String> names = new HashMap<>();
        for (ValueInfoProto in : index.inputs()) {
            if (!in.getType().hasTensorType()) {
                continue;
            }
            for (TensorShapeProto.Dimension d : in.getType().getTensorType().getShape().getDimList()) {
                if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
                    names.putIfAbsent(pairKey(a.valueOf(d.getDimParam()), b.valueOf(d.getDimParam())), d.getDimParam());
                }
            }
        }
        return names;
    }

    /** The first input that is not a KV cache: its batch and sequence axes count the work. */
    static ValueInfoProto primaryInput(GraphIndex index) {
        for (ValueInfoProto in : index.inputs()) {
            String n = in.getName().toLowerCase(java.util.Locale.ROOT);
            if (!n.contains("past") && !n.contains("cache")) {
                return in;
            }
        }
        return index.inputs().isEmpty() ? null : index.inputs().getFirst();
    }

    private static double units(GraphIndex index, DimValues dims) {
        ValueInfoProto in = primaryInput(index);
        if (in == null || !in.getType().hasTensorType()) {
            return 1;
        }
        double units = 1;
        for (TensorShapeProto.Dimension d : in.getType().getTensorType().getShape().getDimList()) {
            if (d.hasDimParam()) {
                DimRole role = DimRole.of(d.getDimParam());
                if (role == DimRole.BATCH || role == DimRole.SEQUENCE) {
                    units *= dims.valueOf(d.getDimParam());
                }
            }
        }
        return units;
    }

    private static String unit(GraphIndex index) {
        ValueInfoProto in = primaryInput(index);
        if (in != null && in.getType().hasTensorType()) {
            for (TensorShapeProto.Dimension d : in.getType().getTensorType().getShape().getDimList()) {
                if (d.hasDimParam() && DimRole.of(d.getDimParam()) == DimRole.SEQUENCE) {
                    return "token";
                }
            }
        }
        return "sample";
    }
}
