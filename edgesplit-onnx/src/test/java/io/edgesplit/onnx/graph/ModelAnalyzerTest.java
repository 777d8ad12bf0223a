package io.edgesplit.onnx.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.BlockRole;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.TinyModels;
import io.edgesplit.onnx.build.SyntheticGpt;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelAnalyzerTest {

    @Test
    void minilmIsEmbeddingsPlusSixLayers() {
        AnalyzedModel am = Models.minilm();
        assertThat(am.kind()).isEqualTo(ModelKind.ENCODER);
        assertThat(am.blocks()).extracting(Block::name)
                .containsExactly("embeddings", "layer.0", "layer.1", "layer.2", "layer.3", "layer.4", "layer.5");
        assertThat(am.blocks().getFirst().role()).isEqualTo(BlockRole.EMBEDDINGS);
        // Between layers only the hidden state (384 floats) and the extended attention mask (1 float) cross.
        for (CutPoint c : am.cuts()) {
            assertThat(c.crossing()).hasSize(2).contains("/Mul_output_0");
            assertThat(c.bytesPerUnit()).isEqualTo(384 * 4 + 4);
        }
        // A BERT layer does 4 D x D and 2 D x F matmuls per token: 2 FLOPs per multiply-add.
        double matmuls = 2.0 * (4 * 384 * 384 + 2 * 384 * 1536);
        for (BlockProfile p : am.profile().blocks().subList(1, 7)) {
            assertThat(p.flopsPerUnit()).isBetween(matmuls, matmuls * 1.05);
            assertThat(p.weightBytes()).isBetween(7_000_000L, 7_200_000L);
            assertThat(p.kvBytesPerToken()).isZero();
        }
        assertThat(am.profile().totalWeightBytes()).isBetween(90_000_000L, 91_000_000L);
    }

    @Test
    void syntheticDecoderKeepsEachLayersKvPairInItsBlock() {
        AnalyzedModel am = Models.syntheticGpt();
        SyntheticGpt.Config c = SyntheticGpt.Config.small();
        assertThat(am.kind()).isEqualTo(ModelKind.DECODER);
        assertThat(am.blocks()).extracting(Block::role).containsExactly(BlockRole.EMBEDDINGS,
                BlockRole.LAYER, BlockRole.LAYER, BlockRole.LAYER, BlockRole.LAYER, BlockRole.HEAD);
        for (int l = 0; l < c.layers(); l++) {
            Block b = am.blocks().get(l + 1);
            assertThat(b.state()).containsExactly(
                    new StatePair("past." + l + ".key", "present." + l + ".key"),
                    new StatePair("past." + l + ".value", "present." + l + ".value"));
            assertThat(am.profile().blocks().get(l + 1).kvBytesPerToken()).isEqualTo(2.0 * c.dim() * 4);
        }
        for (CutPoint cut : am.cuts()) {
            assertThat(cut.crossing()).hasSize(1);
            assertThat(cut.bytesPerUnit()).isEqualTo(c.dim() * 4.0);
        }
    }

    @Test
    void foreignGpt2ExportWithFusedOpsIsCutBetweenLayers() {
        AnalyzedModel am = Models.tinyGpt2();
        assertThat(am.kind()).isEqualTo(ModelKind.DECODER);
        assertThat(am.blocks()).extracting(Block::name)
                .containsExactly("embeddings", "layer.0", "layer.1", "layer.2", "layer.3", "layer.4", "head");
        for (int l = 0; l < 5; l++) {
            assertThat(am.blocks().get(l + 1).state()).containsExactly(new StatePair("past_" + l, "present_" + l));
        }
        assertThat(am.state()).hasSize(5);
    }

    @Test
    void cnnWithBranchesIsOnlyCutWhereOneTensorCrosses() {
        AnalyzedModel am = Models.analyze(TinyModels.loaded("cnn", TinyModels.branchyCnn()));
        assertThat(am.kind()).isEqualTo(ModelKind.GRAPH);
        assertThat(am.cuts()).isNotEmpty();
        for (CutPoint c : am.cuts()) {
            assertThat(c.crossing()).hasSize(1);
        }
        // The two branches and their residual form one region: no cut between the branch convs and the Add.
        int concat = -1;
        int add = -1;
        for (int i = 0; i < am.index().nodeCount(); i++) {
            String name = am.index().node(i).getName();
            if (name.equals("/mix/Concat")) {
                concat = i;
            }
            if (name.equals("/mix/Add")) {
                add = i;
            }
        }
        for (CutPoint c : am.cuts()) {
            assertThat(c.position() < concat - 3 || c.position() > add).as("cut at %d", c.position()).isTrue();
        }
    }

    @Test
    void maxBlocksBoundsGraphsWithoutLayers() {
        var loaded = TinyModels.loaded("mlp", TinyModels.mlpWithLocalFunction());
        AnalyzedModel two = ModelAnalyzer.analyze(loaded, new ModelAnalyzer.Options(2, Map.of()));
        assertThat(two.blocks()).hasSize(2);
        AnalyzedModel many = ModelAnalyzer.analyze(loaded, new ModelAnalyzer.Options(16, Map.of()));
        assertThat(many.blocks().size()).isGreaterThan(2);
        // Balanced by compute: the two blocks of the 2-way split carry similar FLOPs.
        double a = two.profile().blocks().get(0).flopsPerUnit();
        double b = two.profile().blocks().get(1).flopsPerUnit();
        assertThat(a / (a + b)).isCloseTo(0.5, within(0.2));
    }

    @Test
    void sequenceModelWithSubgraphCountsOuterReadsOfTheIf() {
        AnalyzedModel am = Models.analyze(TinyModels.loaded("seq", TinyModels.sequenceModel()));
        int ifNode = -1;
        for (int i = 0; i < am.index().nodeCount(); i++) {
            if (am.index().node(i).getOpType().equals("If")) {
                ifNode = i;
            }
        }
        String projection = am.index().node(ifNode - 3).getOutput(0); // the MatMul before ReduceSum/Greater
        assertThat(am.index().inputsOf(ifNode)).contains(projection);
        // Nothing may cut between the projection and the If that reads it implicitly, unless it crosses.
        for (CutPoint c : am.cuts()) {
            if (c.position() > am.index().producerOf(projection) && c.position() <= ifNode) {
                assertThat(c.crossing()).contains(projection);
            }
        }
    }

    @Test
    void singleNodeGraphHasNoValidCutAndSaysWhy() {
        AnalyzedModel am = Models.analyze(TinyModels.loaded("single", TinyModels.singleNode()));
        assertThat(am.blocks()).hasSize(1);
        assertThat(am.noCutReason()).contains("1 compute node");
        assertThatThrownBy(am::requireCuts)
                .isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("no valid cut")
                .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.NO_VALID_CUT);
    }

    @Test
    void layerNamesAreReadFromCommonExporters() {
        assertThat(ModelAnalyzer.layerOf("/encoder/layer.3/attention/self/MatMul")).isEqualTo(3);
        assertThat(ModelAnalyzer.layerOf("transformer.h.11.attn.c_attn.weight")).isEqualTo(11);
        assertThat(ModelAnalyzer.layerOf("/model/layers.7/self_attn/q_proj/MatMul")).isEqualTo(7);
        assertThat(ModelAnalyzer.layerOf("/blocks.2/mlp/fc1")).isEqualTo(2);
        assertThat(ModelAnalyzer.layerOf("/embeddings/word_embeddings/Gather")).isEqualTo(-1);
        assertThat(ModelAnalyzer.layerOf("onnx::MatMul_787")).isEqualTo(-1);
        assertThat(ModelAnalyzer.layerOf("/dense1/MatMul")).isEqualTo(-1);
    }

    @Test
    void statePairsMatchAcrossNamingSchemes() {
        assertThat(StatePair.detect(List.of("input_ids", "past_key_values.0.key", "past_key_values.0.value"),
                List.of("logits", "present.0.key", "present.0.value")))
                .containsExactly(new StatePair("past_key_values.0.key", "present.0.key"),
                        new StatePair("past_key_values.0.value", "present.0.value"));
        assertThat(StatePair.detect(List.of("past_3"), List.of("present_3", "present_4")))
                .containsExactly(new StatePair("past_3", "present_3"));
    }
}
