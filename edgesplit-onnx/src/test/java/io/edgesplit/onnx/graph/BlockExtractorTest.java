package io.edgesplit.onnx.graph;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.TinyModels;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BlockExtractorTest {

    @Test
    void blockKeepsIrVersionOpsetsAndOnlyTheInitializersItUses() {
        AnalyzedModel am = Models.tinyGpt2();
        BlockModel layer2 = BlockExtractor.extract(am, BlockRange.single(3));
        ModelProto p = layer2.proto();
        assertThat(p.getIrVersion()).isEqualTo(am.model().proto().getIrVersion());
        assertThat(p.getOpsetImportList()).containsExactlyElementsOf(am.model().proto().getOpsetImportList());
        assertThat(p.getOpsetImportList()).extracting(OperatorSetIdProto::getDomain).contains("com.microsoft");
        Set<String> used = new HashSet<>();
        for (NodeProto n : p.getGraph().getNodeList()) {
            used.addAll(n.getInputList());
        }
        for (TensorProto t : p.getGraph().getInitializerList()) {
            assertThat(used).contains(t.getName());
        }
        assertThat(p.getGraph().getInitializerCount()).isLessThan(am.model().proto().getGraph().getInitializerCount());
        assertThat(layer2.state()).containsExactly(new StatePair("past_2", "present_2"));
        assertThat(layer2.inputs()).contains("past_2", "attention_mask");
        assertThat(layer2.outputs()).contains("present_2");
    }

    @Test
    void nodeOrderIsKept() {
        AnalyzedModel am = Models.syntheticGpt();
        Block b = am.blocks().get(2);
        BlockModel m = BlockExtractor.extract(am, BlockRange.single(2));
        List<String> names = m.proto().getGraph().getNodeList().stream().map(NodeProto::getName).toList();
        int last = -1;
        for (String name : names) {
            int pos = -1;
            for (int i = 0; i < am.index().nodeCount(); i++) {
                if (am.index().node(i).getName().equals(name)) {
                    pos = i;
                }
            }
            assertThat(pos).isGreaterThan(last);
            last = pos;
        }
        assertThat(names).hasSizeGreaterThanOrEqualTo(b.endNode() - b.startNode());
    }

    @Test
    void boundaryTensorsAreTypedWithSymbolicDimensions() {
        AnalyzedModel am = Models.minilm();
        BlockModel layer = BlockExtractor.extract(am, BlockRange.single(3));
        Map<String, ValueInfoProto> inputs = new java.util.HashMap<>();
        layer.proto().getGraph().getInputList().forEach(v -> inputs.put(v.getName(), v));
        ValueInfoProto hidden = inputs.get(am.crossingBefore(3).stream()
                .filter(n -> !n.equals("/Mul_output_0")).findFirst().orElseThrow());
        assertThat(hidden.getType().getTensorType().getElemType()).isEqualTo(TensorProto.DataType.FLOAT_VALUE);
        List<TensorShapeProto.Dimension> dims = hidden.getType().getTensorType().getShape().getDimList();
        assertThat(dims).hasSize(3);
        assertThat(dims.get(0).getDimParam()).isEqualTo("batch_size");
        assertThat(dims.get(1).getDimParam()).isEqualTo("sequence_length");
        assertThat(dims.get(2).getDimValue()).isEqualTo(384);
    }

    @Test
    void localFunctionsTravelWithTheBlocksThatCallThem() {
        AnalyzedModel am = ModelAnalyzer.analyze(TinyModels.loaded("mlp", TinyModels.mlpWithLocalFunction()),
                new ModelAnalyzer.Options(16, Map.of()));
        boolean someBlockCalls = false;
        for (int b = 0; b < am.blockCount(); b++) {
            BlockModel m = BlockExtractor.extract(am, BlockRange.single(b));
            boolean calls = m.proto().getGraph().getNodeList().stream()
                    .anyMatch(n -> n.getDomain().equals("local.test"));
            assertThat(m.proto().getFunctionsList()).extracting(FunctionProto::getName)
                    .containsExactlyElementsOf(calls ? List.of("DoubleRelu") : List.of());
            someBlockCalls |= calls;
        }
        assertThat(someBlockCalls).isTrue();
    }

    @Test
    void contentHashIsStable() {
        AnalyzedModel am = Models.syntheticGpt();
        BlockModel a = BlockExtractor.extract(am, new BlockRange(1, 2));
        BlockModel b = BlockExtractor.extract(am, new BlockRange(1, 2));
        assertThat(a.sha256()).hasSize(64).isEqualTo(b.sha256());
        assertThat(BlockExtractor.extract(am, new BlockRange(1, 3)).sha256()).isNotEqualTo(a.sha256());
    }
}
