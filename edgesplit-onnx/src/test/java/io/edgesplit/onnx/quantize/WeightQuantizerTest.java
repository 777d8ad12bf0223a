package io.edgesplit.onnx.quantize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.TinyModels;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.load.LoadedModel;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WeightQuantizerTest {

    private static AnalyzedModel quantized(AnalyzedModel am, WeightQuantizer.Bits bits) {
        ModelProto q = WeightQuantizer.quantize(am.model().proto(), bits, 32);
        return Models.analyze(new LoadedModel(am.name() + "-" + bits, q, q.getSerializedSize()));
    }

    @Test
    void replacesWeightMatMulsAndKeepsEmbeddingsFloat() {
        AnalyzedModel am = Models.stories260k();
        ModelProto q = WeightQuantizer.quantize(am.model().proto(), WeightQuantizer.Bits.INT4, 32);
        long nbits = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMulNBits")).count();
        long matmulsWithWeights = am.model().proto().getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("MatMul") && am.index().initializer(n.getInput(1)) != null).count();
        assertThat(nbits).isEqualTo(matmulsWithWeights - 5); // the 8x8 RoPE rotations are too small to quantize
        // the embedding table is only indexed: it stays float32
        assertThat(q.getGraph().getInitializerList()).anyMatch(t -> t.getName().equals("embed.weight") && t.getDataType() == 1);
        assertThat(q.getOpsetImportList()).anyMatch(o -> o.getDomain().equals("com.microsoft"));
        assertThat(q.getSerializedSize()).isLessThan(am.model().proto().getSerializedSize() / 2);
    }

    @Test
    void int8StaysCloseToFloat32AndInt4Further() {
        AnalyzedModel am = Models.stories260k();
        QuantizationQuality.Report int8 = QuantizationQuality.compare(am, quantized(am, WeightQuantizer.Bits.INT8), 4, 8, 16);
        QuantizationQuality.Report int4 = QuantizationQuality.compare(am, quantized(am, WeightQuantizer.Bits.INT4), 4, 8, 16);
        assertThat(int8.greedyAgreement()).isGreaterThan(0.85);
        assertThat(int8.meanAbsLogitDiff()).isLessThan(int4.meanAbsLogitDiff());
        assertThat(int4.maxAbsLogitDiff()).isPositive();
    }

    @Test
    void quantizedModelsSplitLikeAnyOther() {
        AnalyzedModel q = quantized(Models.syntheticGpt(), WeightQuantizer.Bits.INT4);
        assertThat(q.blockCount()).isEqualTo(Models.syntheticGpt().blockCount());
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(q, new EquivalenceVerifier.Options(null, Map.of(), 1, 4));
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void refusesModelsWithoutWeightMatMuls() {
        assertThatThrownBy(() -> WeightQuantizer.quantize(TinyModels.branchyCnn(), WeightQuantizer.Bits.INT8, 32))
                .isInstanceOf(EdgeSplitException.class).hasMessageContaining("no MatMul");
        assertThatThrownBy(() -> WeightQuantizer.Bits.parse("int3")).hasMessageContaining("int8 or int4");
    }
}
