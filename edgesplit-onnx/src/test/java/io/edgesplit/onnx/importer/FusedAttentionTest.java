package io.edgesplit.onnx.importer;

import static io.edgesplit.onnx.importer.TinyCheckpoints.DIM;
import static io.edgesplit.onnx.importer.TinyCheckpoints.FFN;
import static io.edgesplit.onnx.importer.TinyCheckpoints.HEADS;
import static io.edgesplit.onnx.importer.TinyCheckpoints.LAYERS;
import static io.edgesplit.onnx.importer.TinyCheckpoints.VOCAB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.build.LlamaBuilder.Attention;
import io.edgesplit.onnx.generate.Generator;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.LoadedModel;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.SessionLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused-attention graph (ONNX Runtime's GroupQueryAttention) against the plain one and against the
 * independent reference: prompt then cached steps, whole and split, grouped and full KV heads.
 */
class FusedAttentionTest {
    @TempDir
    Path dir;

    private static AnalyzedModel load(Path checkpoint, Attention attention) {
        return Models.analyze(new OnnxModelLoader(LoadLimits.defaults(), attention).load(checkpoint.toString()));
    }

    private static long fusedNodes(LoadedModel m) {
        return m.proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("GroupQueryAttention")).count();
    }

    private void matches(String arch, int kvHeads, boolean bias) throws Exception {
        TinyCheckpoints.Checkpoint c = TinyCheckpoints.llama(dir.resolve(arch + kvHeads),
                new TinyCheckpoints.Llama(arch, kvHeads, bias, false, null, 10000, "F32"));
        double[][] expected = Reference.llama(c.weights(), HfImporterTest.TOKENS, VOCAB, DIM, LAYERS, HEADS, kvHeads, FFN, false,
                Reference.invFreq(DIM / HEADS, 10000, 0, 0, 0, 0));
        AnalyzedModel plain = load(c.dir(), Attention.PLAIN);
        AnalyzedModel fused = load(c.dir(), Attention.FUSED);
        assertThat(fusedNodes(fused.model())).isEqualTo(LAYERS);
        assertThat(fusedNodes(plain.model())).isZero();
        assertThat(fused.blockCount()).isEqualTo(plain.blockCount());
        try (LocalPipeline p = LocalPipeline.whole(plain);
                LocalPipeline f = LocalPipeline.whole(fused);
                LocalPipeline split = LocalPipeline.split(fused, LocalPipeline.rangesSplitAfter(fused.blockCount(), List.of(1)),
                        SessionLayout.PER_STAGE)) {
            double[][] a = HfImporterTest.run(plain, p);
            double[][] b = HfImporterTest.run(fused, f);
            assertThat(HfImporterTest.maxDiff(b, expected)).isLessThanOrEqualTo(1e-4);
            assertThat(HfImporterTest.maxDiff(b, a)).isLessThanOrEqualTo(1e-5);
            assertThat(HfImporterTest.maxDiff(HfImporterTest.run(fused, split), b)).isLessThanOrEqualTo(1e-6);
        }
    }

    @Test
    void groupedKvHeadsMatchThePlainGraphAndTheReference() throws Exception {
        matches("MistralForCausalLM", 2, false);
    }

    @Test
    void fullKvHeadsWithBiasMatch() throws Exception {
        matches("Qwen2ForCausalLM", HEADS, true);
    }

    @Test
    void stories260kGeneratesTheSameTokensFused() {
        AnalyzedModel plain = Models.stories260k();
        AnalyzedModel fused = Models.analyze(new OnnxModelLoader(LoadLimits.defaults(), Attention.FUSED)
                .load("builtin:stories260k"));
        assertThat(fusedNodes(fused.model())).isEqualTo(5);
        try (LocalPipeline p = LocalPipeline.whole(plain); LocalPipeline f = LocalPipeline.whole(fused)) {
            int[] a = Generator.forModel(plain, p).generate(new Generator.Request("a", new int[] {1}, Sampling.greedy(), 120,
                    Set.of(), t -> { })).tokens();
            int[] b = Generator.forModel(fused, f).generate(new Generator.Request("b", new int[] {1}, Sampling.greedy(), 120,
                    Set.of(), t -> { })).tokens();
            assertThat(b).hasSize(120).isEqualTo(a);
        }
    }

    @Test
    void modelsWithoutAFusedVariantRefuseItByName() {
        OnnxModelLoader fused = new OnnxModelLoader(LoadLimits.defaults(), Attention.FUSED);
        assertThatThrownBy(() -> fused.load("builtin:minilm")).isInstanceOf(EdgeSplitException.class)
                .hasMessageContaining("--attention fused").hasMessageContaining("builtin:minilm");
        assertThatThrownBy(() -> Attention.parse("flash")).hasMessageContaining("plain or fused");
    }
}
