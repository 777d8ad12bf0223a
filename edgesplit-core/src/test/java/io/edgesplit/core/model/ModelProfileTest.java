package io.edgesplit.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelProfileTest {
    private static BlockProfile block(int i, long weights, double flops) {
        return new BlockProfile(i, "b" + i, BlockRole.LAYER, 10, weights, flops, 100, 0);
    }

    @Test
    void sumsWeightsAndFlops() {
        ModelProfile p = new ModelProfile("m", ModelKind.ENCODER, "token", List.of(block(0, 5, 1.5), block(1, 7, 2.5)));
        assertThat(p.totalWeightBytes()).isEqualTo(12);
        assertThat(p.totalFlopsPerUnit()).isEqualTo(4.0);
    }

    @Test
    void copiesBlocksAndChecksTheirOrder() {
        List<BlockProfile> blocks = new ArrayList<>(List.of(block(0, 1, 1)));
        ModelProfile p = new ModelProfile("m", ModelKind.GRAPH, "sample", blocks);
        blocks.add(block(1, 1, 1));
        assertThat(p.blocks()).hasSize(1);
        assertThatThrownBy(() -> new ModelProfile("m", ModelKind.GRAPH, "sample", List.of(block(1, 1, 1))))
                .hasMessageContaining("blocks[0].index is 1");
        assertThatThrownBy(() -> new ModelProfile("m", ModelKind.GRAPH, "sample", List.of()))
                .hasMessageContaining("empty");
    }

    @Test
    void blockProfileRefusesNegativeFigures() {
        assertThatThrownBy(() -> new BlockProfile(0, "b", BlockRole.LAYER, 1, -1, 0, 0, 0)).hasMessageContaining("weightBytes");
        assertThatThrownBy(() -> new BlockProfile(0, "b", BlockRole.LAYER, 1, 0, Double.NaN, 0, 0)).hasMessageContaining("flopsPerUnit");
    }
}
