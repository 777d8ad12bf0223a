package io.edgesplit.onnx.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.edgesplit.onnx.Models;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BlockProfilerTest {

    @Test
    void timesEveryBlockOfAnEncoderAtEachThreadCount() {
        AnalyzedModel am = Models.minilm();
        var options = new BlockProfiler.Options(List.of(1, 2), new DimValues(1, 16, 0, 64, 4, Map.of()), 1, 3, Set.of());
        var p = BlockProfiler.profile(am, options, s -> {});
        assertThat(p.units()).isEqualTo(16);
        assertThat(p.blocks()).hasSize(am.blockCount());
        assertThat(p.profiles()).extracting(BlockProfiler.ThreadProfile::threads).containsExactly(1, 2);
        for (var t : p.profiles()) {
            assertThat(t.blockMs()).hasSize(am.blockCount());
            assertThat(java.util.Arrays.stream(t.blockMs()).min().orElseThrow()).isPositive();
            assertThat(t.fitted()).containsOnly(false);
        }
    }

    @Test
    void fillsUnmeasuredBlocksOfADecoderFromTheFit() {
        AnalyzedModel am = Models.stories260k();
        var options = new BlockProfiler.Options(List.of(1), new DimValues(1, 1, 32, 64, 4, Map.of()), 1, 3, Set.of(1, 2, 3));
        var p = BlockProfiler.profile(am, options, s -> {});
        var t = p.profiles().getFirst();
        assertThat(t.fitted()[0]).isTrue();
        assertThat(t.fitted()[1]).isFalse();
        assertThat(t.fitted()[am.blockCount() - 1]).isTrue();
        assertThat(t.blockMs()[0]).isEqualTo(Math.max(0, t.msPerGflop() * p.flopsPerRequest()[0] / 1e9 + t.interceptMs()));
    }

    @Test
    void fitIsLeastSquaresOverTheMeasuredBlocks() {
        double[] flops = {1e9, 2e9, 3e9, 9e9};
        double[] ms = {3, 5, 7, 1000};
        double[] fit = BlockProfiler.fit(flops, ms, new boolean[] {false, false, false, true});
        assertThat(fit[0]).isCloseTo(2, within(1e-9));
        assertThat(fit[1]).isCloseTo(1, within(1e-9));
        assertThat(BlockProfiler.fit(new double[] {2e9}, new double[] {4}, new boolean[] {false})).containsExactly(2, 0);
    }

    @Test
    void refusesBlocksThatDoNotExist() {
        var options = new BlockProfiler.Options(List.of(1), DimValues.defaults(), 0, 1, Set.of(99));
        assertThatThrownBy(() -> BlockProfiler.profile(Models.minilm(), options, s -> {}))
                .hasMessageContaining("block 99 does not exist");
    }
}
