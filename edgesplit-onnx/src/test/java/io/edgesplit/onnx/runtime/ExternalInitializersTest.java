package io.edgesplit.onnx.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ExternalInitializersTest {

    @Test
    void serializedSizeIsProtobufsOwnCountForModelsThatFit() {
        ModelProto m = Models.syntheticGpt().model().proto();
        // the count adds a few bytes per field of tag and length at most
        assertThat(ExternalInitializers.serializedSize(m)).isBetween((long) m.getSerializedSize(),
                m.getSerializedSize() + 8L * (m.getGraph().getInitializerCount() + 2));
    }

    @Test
    void aModelOverTheLimitRunsWithItsLargestWeightsFromNativeMemoryAndGivesTheSameOutput() throws Exception {
        AnalyzedModel am = Models.syntheticGpt();
        ModelProto m = am.model().proto();
        long size = ExternalInitializers.serializedSize(m);
        long limit = size / 3; // as if protobuf's limit were a third of this model
        OrtRuntime ort = OrtRuntime.get();
        Map<String, OnnxTensor> in = new InputSynthesizer(am.index(), 3).create(ort.env(),
                new DimValues(1, 4, 0, 1, 1, Map.of()), Set.of());
        try (OrtRuntime.Opened inline = ort.open(m, size, "inline", OptLevel.ALL_OPT);
                OrtRuntime.Opened external = ort.open(m, limit, "external", OptLevel.ALL_OPT)) {
            assertThat(inline.weights()).isNull();
            assertThat(external.weights()).isNotNull();
            ModelProto marked = external.weights().model();
            assertThat(ExternalInitializers.serializedSize(marked)).isLessThanOrEqualTo(limit);
            assertThat(marked.getGraph().getInitializerList())
                    .filteredOn(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL)
                    .hasSize(external.weights().tensors().size())
                    .allMatch(t -> !t.hasRawData());
            try (OrtSession.Result a = inline.session().run(in); OrtSession.Result b = external.session().run(in)) {
                float[] la = ((OnnxTensor) a.get("logits").orElseThrow()).getFloatBuffer().array();
                float[] lb = ((OnnxTensor) b.get("logits").orElseThrow()).getFloatBuffer().array();
                assertThat(lb).containsExactly(la);
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }
}
