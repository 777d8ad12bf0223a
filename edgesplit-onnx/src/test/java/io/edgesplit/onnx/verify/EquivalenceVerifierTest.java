package io.edgesplit.onnx.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.TensorProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.TinyModels;
import io.edgesplit.onnx.graph.AnalyzedModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EquivalenceVerifierTest {

    private static EquivalenceVerifier.Options steps(int n) {
        return new EquivalenceVerifier.Options(null, Map.of(), 42, n);
    }

    @Test
    void minilmIsBitIdenticalAtEveryCut() {
        AnalyzedModel am = Models.minilm();
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(am, EquivalenceVerifier.Options.defaults());
        assertThat(r.cuts()).hasSize(am.blockCount() - 1);
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(r.allBlocksDiff()).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void foreignGpt2MatchesOverSixteenDecodeSteps() {
        AnalyzedModel am = Models.tinyGpt2();
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(am, steps(16));
        assertThat(r.steps()).isEqualTo(17);
        assertThat(r.cuts()).hasSize(am.blockCount() - 1);
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(r.cuts()).allMatch(EquivalenceVerifier.CutResult::greedyAgrees);
    }

    @Test
    void syntheticDecoderMatchesOverSixteenDecodeSteps() {
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(Models.syntheticGpt(), steps(16));
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(r.cuts()).allMatch(EquivalenceVerifier.CutResult::greedyAgrees);
    }

    @Test
    void graphsWithoutLayersMatchToo() {
        for (var m : new Object[][] {{"cnn", TinyModels.branchyCnn()}, {"seq", TinyModels.sequenceModel()},
                {"mlp", TinyModels.mlpWithLocalFunction()}}) {
            AnalyzedModel am = Models.analyze(TinyModels.loaded((String) m[0], (ai.onnx.proto.OnnxMl.ModelProto) m[1]));
            EquivalenceVerifier.Report r = EquivalenceVerifier.verify(am, EquivalenceVerifier.Options.defaults());
            assertThat(r.cuts()).as((String) m[0]).isNotEmpty();
            assertThat(r.maxAbsDiff()).as((String) m[0]).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void decodeStepsNeedADecoder() {
        assertThatThrownBy(() -> EquivalenceVerifier.verify(Models.minilm(), steps(2)))
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("cannot run decode steps");
    }

    @Test
    void readsInputsFromOnnxTensorFiles(@TempDir Path dir) throws Exception {
        AnalyzedModel am = Models.analyze(TinyModels.loaded("cnn", TinyModels.branchyCnn()));
        int n = 1 * 3 * 16 * 16;
        ByteBuffer raw = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            raw.putFloat((float) Math.sin(i));
        }
        TensorProto t = TensorProto.newBuilder().setName("image").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(1).addDims(3).addDims(16).addDims(16)
                .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build();
        Files.write(dir.resolve("input_0.pb"), t.toByteArray());
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(am,
                new EquivalenceVerifier.Options(dir, Map.of(), 0, 0));
        assertThat(r.inputs().get("image")).containsExactly(1, 3, 16, 16);
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-5);

        Files.write(dir.resolve("input_0.pb"), t.toBuilder().setDataType(TensorProto.DataType.DOUBLE_VALUE).build().toByteArray());
        assertThatThrownBy(() -> EquivalenceVerifier.verify(am, new EquivalenceVerifier.Options(dir, Map.of(), 0, 0)))
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("must be float");
    }

    @Test
    void differencesAreMeasuredNotAssumed() {
        assertThat(EquivalenceVerifier.maxAbsDiff(new double[] {1, 2, 3}, new double[] {1, 2.5, 3})).isEqualTo(0.5);
        assertThat(EquivalenceVerifier.maxAbsDiff(new double[] {1}, new double[] {1, 2})).isInfinite();
        assertThat(EquivalenceVerifier.maxAbsDiff(new double[] {Double.NaN}, new double[] {0})).isInfinite();
        assertThat(EquivalenceVerifier.maxAbsDiff(new double[] {Double.NaN}, new double[] {Double.NaN})).isZero();
    }
}
