package io.edgesplit.onnx.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {0.1f, 2.0f, 1.9f, -3f, 0.5f};

    @Test
    void greedyTakesTheLargest() {
        assertThat(new Sampler(Sampling.greedy()).next(LOGITS, 0, 5)).isEqualTo(1);
        assertThat(new Sampler(Sampling.greedy()).next(new float[] {9, 0.1f, 2.0f, 1.9f}, 1, 3)).isEqualTo(1);
    }

    @Test
    void topKOfOneIsGreedy() {
        Sampler s = new Sampler(new Sampling(1.5, 1, 1, 3));
        for (int i = 0; i < 20; i++) {
            assertThat(s.next(LOGITS, 0, 5)).isEqualTo(1);
        }
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        Sampler s = new Sampler(new Sampling(1.0, 0, 0.6, 3));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            seen.add(s.next(LOGITS, 0, 5));
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 2);
    }

    @Test
    void sameSeedSameTokens() {
        Sampler a = new Sampler(new Sampling(1.0, 0, 1, 11));
        Sampler b = new Sampler(new Sampling(1.0, 0, 1, 11));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            int x = a.next(LOGITS, 0, 5);
            assertThat(b.next(LOGITS, 0, 5)).isEqualTo(x);
            seen.add(x);
        }
        assertThat(seen.size()).isGreaterThan(2);
    }

    @Test
    void refusesNonsense() {
        assertThatThrownBy(() -> new Sampling(-1, 0, 1, 0)).isInstanceOf(EdgeSplitException.class);
        assertThatThrownBy(() -> new Sampling(1, -2, 1, 0)).hasMessageContaining("top-k");
        assertThatThrownBy(() -> new Sampling(1, 0, 0, 0)).hasMessageContaining("top-p");
    }
}
