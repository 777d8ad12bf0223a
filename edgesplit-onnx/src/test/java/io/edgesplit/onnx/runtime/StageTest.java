package io.edgesplit.onnx.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.graph.StatePair;
import io.edgesplit.onnx.verify.DecodeInputs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class StageTest {

    private static Map<String, OnnxTensor> prompt(AnalyzedModel am, long batch, long tokens) {
        Set<String> pasts = am.state().stream().map(StatePair::past).collect(Collectors.toSet());
        return new InputSynthesizer(am.index(), 3).create(OrtRuntime.get().env(),
                new DimValues(batch, tokens, 0, 1, 1, Map.of()), pasts);
    }

    @Test
    void kvCacheGrowsPerSequenceAndIsFreedWhenTheSequenceEnds() {
        AnalyzedModel am = Models.syntheticGpt();
        try (LocalPipeline p = LocalPipeline.split(am, LocalPipeline.rangesSplitAfter(am.blockCount(), List.of(2)),
                SessionLayout.PER_BLOCK)) {
            Map<String, OnnxTensor> in = prompt(am, 1, 4);
            try (LocalPipeline.Result r = p.run(StepContext.sequence("a", 1), in)) {
                assertThat(r.get("logits").getInfo().getShape()).containsExactly(1, 4, 256);
            }
            DecodeInputs decode = new DecodeInputs(am.index(), am.state());
            Map<String, OnnxTensor> step = decode.step(OrtRuntime.get().env(), new long[] {7}, 4);
            try (LocalPipeline.Result r = p.run(StepContext.sequence("a", 1), step)) {
                assertThat(r.get("logits").getInfo().getShape()).containsExactly(1, 1, 256);
            }
            assertThat(p.stages()).allMatch(s -> s.sequences().equals(Set.of("a")));
            p.endSequence("a");
            assertThat(p.stages()).allMatch(s -> s.sequences().isEmpty());
            in.values().forEach(OnnxTensor::close);
            step.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void interleavedSequencesKeepSeparateCaches() {
        AnalyzedModel am = Models.syntheticGpt();
        DecodeInputs decode = new DecodeInputs(am.index(), am.state());
        try (LocalPipeline p = LocalPipeline.split(am, List.of(new BlockRange(0, 2), new BlockRange(3, 5)),
                SessionLayout.PER_STAGE); LocalPipeline whole = LocalPipeline.whole(am)) {
            // Sequence "x" alone on the whole model, then interleaved with "y" on the split one.
            float[] alone = lastStepLogits(whole, decode, "x", 11, null, 0);
            float[] mixed = lastStepLogits(p, decode, "x", 11, "y", 5);
            assertThat(mixed).containsExactly(alone);
        }
    }

    private static float[] lastStepLogits(LocalPipeline p, DecodeInputs decode, String seq, long token,
            String other, long otherToken) {
        float[] last = null;
        for (int s = 0; s < 4; s++) {
            for (String id : other == null ? List.of(seq) : List.of(seq, other)) {
                long t = id.equals(seq) ? token + s : otherToken + 3 * s;
                Map<String, OnnxTensor> in = decode.step(OrtRuntime.get().env(), new long[] {t}, s);
                try (LocalPipeline.Result r = p.run(StepContext.sequence(id, 1), in)) {
                    if (id.equals(seq)) {
                        last = r.get("logits").getFloatBuffer().array();
                    }
                } finally {
                    in.values().forEach(OnnxTensor::close);
                }
            }
        }
        p.endSequence(seq);
        if (other != null) {
            p.endSequence(other);
        }
        return last;
    }

    @Test
    void kvCachesMovedAsWholeThenDeltaToADifferentSplitContinueBitIdentically() {
        AnalyzedModel am = Models.syntheticGpt();
        DecodeInputs decode = new DecodeInputs(am.index(), am.state());
        try (LocalPipeline whole = LocalPipeline.whole(am);
                LocalPipeline from = LocalPipeline.split(am, List.of(new BlockRange(0, 1), new BlockRange(2, 5)),
                        SessionLayout.PER_STAGE);
                LocalPipeline to = LocalPipeline.split(am, List.of(new BlockRange(0, 3), new BlockRange(4, 5)),
                        SessionLayout.PER_STAGE)) {
            long[] tokens = {5, 9, 13, 2, 7, 7, 1, 30, 4, 8};
            float[] expected = null;
            for (int s = 0; s < tokens.length; s++) {
                expected = step(whole, decode, "w", tokens[s], s);
            }
            for (int s = 0; s < 6; s++) {
                step(from, decode, "q", tokens[s], s);
            }
            long copied = from.stages().getFirst().kvPositions("q");
            assertThat(copied).isEqualTo(6);
            move(from, to, "q", 0); // pre-copy while the sequence goes on
            for (int s = 6; s < 8; s++) {
                step(from, decode, "q", tokens[s], s);
            }
            move(from, to, "q", copied); // the final delta at a token boundary
            from.endSequence("q");
            assertThat(to.stages()).allMatch(st -> st.kvPositions("q") == 8);
            float[] moved = null;
            for (int s = 8; s < tokens.length; s++) {
                moved = step(to, decode, "q", tokens[s], s);
            }
            assertThat(moved).containsExactly(expected);
            assertThatThrownBy(() -> move(from, to, "absent", 3)).isInstanceOf(EdgeSplitException.class);
        }
    }

    /** Copies every KV tensor of the sequence from the source stages into the target stage that has its pair. */
    private static void move(LocalPipeline from, LocalPipeline to, String seq, long fromPosition) {
        Map<String, OnnxTensor> exported = new HashMap<>();
        for (Stage s : from.stages()) {
            s.exportKv(seq, fromPosition, name -> true, (name, t) -> exported.put(name, copy(t)));
        }
        if (exported.isEmpty()) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "no KV cache for " + seq);
        }
        for (Stage s : to.stages()) {
            Set<String> mine = s.blocks().stream().flatMap(b -> b.model().state().stream()).map(StatePair::present)
                    .collect(Collectors.toSet());
            Map<String, OnnxTensor> part = new HashMap<>();
            exported.entrySet().removeIf(e -> mine.contains(e.getKey()) && part.put(e.getKey(), e.getValue()) == null);
            s.importKv(seq, part, fromPosition);
        }
        assertThat(exported).isEmpty();
    }

    private static OnnxTensor copy(OnnxTensor t) {
        try {
            java.nio.ByteBuffer heap = t.getByteBuffer();
            java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(heap.remaining()).order(java.nio.ByteOrder.nativeOrder());
            direct.put(heap).flip();
            return OnnxTensor.createTensor(OrtRuntime.get().env(), direct, t.getInfo().getShape(), t.getInfo().type);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[] step(LocalPipeline p, DecodeInputs decode, String seq, long token, long past) {
        Map<String, OnnxTensor> in = decode.step(OrtRuntime.get().env(), new long[] {token}, past);
        try (LocalPipeline.Result r = p.run(StepContext.sequence(seq, 1), in)) {
            return r.get("logits").getFloatBuffer().array();
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void missingInputIsACategorizedError() {
        AnalyzedModel am = Models.syntheticGpt();
        try (LocalPipeline p = LocalPipeline.split(am, List.of(am.all()), SessionLayout.PER_BLOCK)) {
            assertThatThrownBy(() -> p.run(StepContext.stateless(1), new HashMap<>()))
                    .isInstanceOf(EdgeSplitException.class)
                    .hasMessageContaining("needs input 'input_ids'")
                    .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.INPUT_INVALID);
        }
    }

    @Test
    void useAfterCloseFails() {
        AnalyzedModel am = Models.syntheticGpt();
        LocalPipeline p = LocalPipeline.split(am, List.of(am.all()), SessionLayout.PER_BLOCK);
        p.close();
        assertThatThrownBy(() -> p.run(StepContext.stateless(1), new HashMap<>()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void splitAfterMakesTilingRanges() {
        assertThat(LocalPipeline.rangesSplitAfter(7, List.of(4, 2)))
                .containsExactly(new BlockRange(0, 2), new BlockRange(3, 4), new BlockRange(5, 6));
        assertThatThrownBy(() -> LocalPipeline.rangesSplitAfter(7, List.of(6)))
                .isInstanceOf(EdgeSplitException.class);
    }
}
