package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.edgesplit.core.model.BlockRange;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cuts a contiguous range of blocks out of an analyzed model as a standalone ONNX model. Keeps the
 * IR version, every opset import, the local functions the range uses, the node order, and only the
 * initializers the range uses; boundary tensors are typed with symbolic dimensions learned by the
 * shape probe.
 */
public final class BlockExtractor {
    private BlockExtractor() {}

    public static BlockModel extract(AnalyzedModel am, BlockRange range) {
        if (range.last() >= am.blockCount()) {
            throw new IllegalArgumentException("range " + range + " is past the last block " + (am.blockCount() - 1));
        }
        GraphIndex index = am.index();
        Block first = am.blocks().get(range.first());
        Block last = am.blocks().get(range.last());
        Block merged = ModelAnalyzer.block(index, range.first(), first.name(), first.role(),
                first.startNode(), last.endNode(), am.state());
        List<Integer> nodes = ModelAnalyzer.nodesOf(index, first.startNode(), last.endNode());
        String name = range.size() == 1 ? first.name() : first.name() + ".." + last.name();

        GraphProto source = index.graph();
        GraphProto.Builder g = GraphProto.newBuilder()
                .setName(source.getName().isEmpty() ? name : source.getName() + "/" + name)
                .setDocString("blocks " + range + " (" + name + ") of " + am.name() + ", cut by EdgeSplit");
        Set<String> usedInitializers = new LinkedHashSet<>();
        Set<String> produced = new HashSet<>();
        for (int i : nodes) {
            g.addNode(index.node(i));
            produced.addAll(index.node(i).getOutputList());
            for (String in : index.inputsOf(i)) {
                if (index.initializer(in) != null) {
                    usedInitializers.add(in);
                }
            }
        }
        for (TensorProto t : source.getInitializerList()) {
            if (usedInitializers.contains(t.getName())) {
                g.addInitializer(t);
            }
        }
        for (SparseTensorProto t : source.getSparseInitializerList()) {
            for (int i : nodes) {
                if (index.inputsOf(i).contains(t.getValues().getName())) {
                    g.addSparseInitializer(t);
                    break;
                }
            }
        }
        Map<String, ValueInfoProto> declared = new HashMap<>();
        for (ValueInfoProto vi : source.getInputList()) {
            declared.put(vi.getName(), vi);
        }
        for (ValueInfoProto vi : source.getOutputList()) {
            declared.put(vi.getName(), vi);
        }
        for (String in : merged.inputs()) {
            g.addInput(index.isGraphInput(in) ? declared.get(in) : typed(in, am.probe()));
        }
        for (String out : merged.outputs()) {
            g.addOutput(index.isGraphOutput(out) ? declared.get(out) : typed(out, am.probe()));
        }
        for (ValueInfoProto vi : source.getValueInfoList()) {
            if (produced.contains(vi.getName()) && !merged.outputs().contains(vi.getName())) {
                g.addValueInfo(vi);
            }
        }
        ModelProto model = am.model().proto();
        ModelProto.Builder out = ModelProto.newBuilder()
                .setIrVersion(model.getIrVersion())
                .addAllOpsetImport(model.getOpsetImportList())
                .setProducerName(model.getProducerName())
                .setProducerVersion(model.getProducerVersion())
                .setDomain(model.getDomain())
                .setModelVersion(model.getModelVersion())
                .addAllMetadataProps(model.getMetadataPropsList())
                .addMetadataProps(meta("edgesplit.model", am.name()))
                .addMetadataProps(meta("edgesplit.blocks", range.toString()))
                .addMetadataProps(meta("edgesplit.block-names", name))
                .addAllFunctions(usedFunctions(model, g.getNodeList()))
                .setGraph(g);
        return new BlockModel(name, range, out.build(), merged.inputs(), merged.outputs(), merged.state());
    }

    /** The whole model as one block model (the reference in equivalence checks). */
    public static BlockModel whole(AnalyzedModel am) {
        GraphIndex index = am.index();
        List<String> inputs = index.inputs().stream().map(ValueInfoProto::getName).toList();
        return new BlockModel("whole", am.all(), am.model().proto(), inputs, index.outputNames(), am.state());
    }

    /** Each block on its own. */
    public static List<BlockModel> eachBlock(AnalyzedModel am) {
        List<BlockModel> out = new ArrayList<>();
        for (int b = 0; b < am.blockCount(); b++) {
            out.add(extract(am, BlockRange.single(b)));
        }
        return out;
    }

    static ValueInfoProto typed(String tensor, ShapeProbe.Result probe) {
        TensorMeta m = probe.meta(tensor);
        if (m == null || m.elemType() == 0) {
            return ValueInfoProto.newBuilder().setName(tensor).build();
        }
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int axis = 0; axis < m.rank(); axis++) {
            if (m.isStatic(axis)) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(m.shapeA()[axis]));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder()
                        .setDimParam(probe.dimName(m.shapeA()[axis], m.shapeB()[axis])));
            }
        }
        return ValueInfoProto.newBuilder()
                .setName(tensor)
                .setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(m.elemType()).setShape(shape)))
                .build();
    }

    private static StringStringEntryProto meta(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** Local functions called by the nodes, directly or through other functions. */
    static List<FunctionProto> usedFunctions(ModelProto model, List<NodeProto> nodes) {
        if (model.getFunctionsCount() == 0) {
            return List.of();
        }
        Map<String, FunctionProto> byKey = new HashMap<>();
        for (FunctionProto f : model.getFunctionsList()) {
            byKey.put(f.getDomain() + "::" + f.getName(), f);
        }
        Set<String> used = new HashSet<>();
        Deque<NodeProto> work = new ArrayDeque<>(nodes);
        while (!work.isEmpty()) {
            NodeProto n = work.pop();
            String key = n.getDomain() + "::" + n.getOpType();
            FunctionProto f = byKey.get(key);
            if (f != null && used.add(key)) {
                work.addAll(f.getNodeList());
            }
        }
        return model.getFunctionsList().stream()
                .filter(f -> used.contains(f.getDomain() + "::" + f.getName()))
                .toList();
    }
}
