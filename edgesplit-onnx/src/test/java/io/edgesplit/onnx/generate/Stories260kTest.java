package io.edgesplit.onnx.generate;

import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.core.model.BlockRange;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.Block;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.SessionLayout;
import io.edgesplit.onnx.text.TextStream;
import io.edgesplit.onnx.text.Tokenizer;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The real pretrained stories260K must print exactly what llama2.c prints, split or not. */
class Stories260kTest {

    static String expected() throws IOException {
        try (InputStream in = Stories260kTest.class.getResourceAsStream("/models/stories260k/expected-greedy-200-tokens.txt")) {
            String raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return raw.replace("<0x0A>", "\n").stripTrailing();
        }
    }

    static String greedy200(AnalyzedModel am, LocalPipeline pipeline) {
        try (Tokenizer tok = am.model().tokenizer().open()) {
            int[] prompt = tok.encode("");
            TextStream text = new TextStream(tok, prompt[prompt.length - 1]);
            StringBuilder sb = new StringBuilder();
            Generator.Result r = Generator.forModel(am, pipeline).generate(new Generator.Request("s", prompt,
                    Sampling.greedy(), 200, tok.stopTokens(), t -> sb.append(text.add(t))));
            assertThat(r.tokens()).hasSize(200);
            assertThat(r.finishReason()).isEqualTo("length");
            return sb.toString();
        }
    }

    @Test
    void importsAsEmbeddingsFiveLayersAndHead() {
        AnalyzedModel am = Models.stories260k();
        assertThat(am.kind()).isEqualTo(ModelKind.DECODER);
        assertThat(am.blocks()).extracting(Block::name)
                .containsExactly("embeddings", "layer.0", "layer.1", "layer.2", "layer.3", "layer.4", "head");
        // 4 KV heads of size 8, key and value, float32: 256 bytes per token per layer.
        assertThat(am.profile().blocks().get(1).kvBytesPerToken()).isEqualTo(256.0);
        assertThat(am.cuts()).allSatisfy(c -> assertThat(c.bytesPerUnit()).isEqualTo(64 * 4.0));
    }

    @Test
    void greedyTextMatchesLlama2c() throws IOException {
        AnalyzedModel am = Models.stories260k();
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            assertThat(greedy200(am, whole)).isEqualTo(expected());
        }
    }

    @Test
    void greedyTextMatchesWhenSplitIntoStages() throws IOException {
        AnalyzedModel am = Models.stories260k();
        try (LocalPipeline split = LocalPipeline.split(am, LocalPipeline.rangesSplitAfter(am.blockCount(), List.of(1, 3)),
                SessionLayout.PER_STAGE)) {
            assertThat(greedy200(am, split)).isEqualTo(expected());
        }
        try (LocalPipeline chained = LocalPipeline.split(am, List.of(new BlockRange(0, am.blockCount() - 1)),
                SessionLayout.PER_BLOCK)) {
            assertThat(greedy200(am, chained)).isEqualTo(expected());
        }
    }

    @Test
    void sixteenInterleavedSequencesGiveTheSameTokensAsAlone() {
        AnalyzedModel am = Models.stories260k();
        String[] prompts = {"Once upon a time", "The cat", "Lily and Tom", "One day", "A big dog", "The sun",
                "Ben had a ball", "Mom said", "There was a bird", "The little boat", "Sue found", "In the park",
                "A girl named Amy", "The tree", "Tim was sad", "It was a cold day"};
        try (Tokenizer tok = am.model().tokenizer().open();
                LocalPipeline split = LocalPipeline.split(am, LocalPipeline.rangesSplitAfter(am.blockCount(), List.of(2)),
                        SessionLayout.PER_STAGE)) {
            Generator gen = Generator.forModel(am, split);
            List<Generator.Request> requests = new ArrayList<>();
            List<int[]> alone = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                Sampling sampling = i % 2 == 0 ? Sampling.greedy() : new Sampling(0.9, 20, 0.95, i);
                Generator.Request r = new Generator.Request("seq" + i, tok.encode(prompts[i]), sampling, 24,
                        tok.stopTokens(), t -> { });
                requests.add(r);
                alone.add(gen.generate(r).tokens());
            }
            List<Generator.Result> together = gen.generateInterleaved(requests);
            for (int i = 0; i < prompts.length; i++) {
                assertThat(together.get(i).tokens()).as(prompts[i]).containsExactly(alone.get(i));
            }
            assertThat(split.stages()).allMatch(s -> s.sequences().isEmpty());
        }
    }

    @Test
    void everyCutMatchesOverDecodeSteps() {
        EquivalenceVerifier.Report r = EquivalenceVerifier.verify(Models.stories260k(),
                new EquivalenceVerifier.Options(null, Map.of(), 1, 16));
        assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(r.cuts()).allMatch(EquivalenceVerifier.CutResult::greedyAgrees);
    }
}
