package io.edgesplit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.edgesplit.core.model.BlockRange;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PipelineBenchCommandTest {
    private static double slowest(double[] ms, List<BlockRange> split) {
        return split.stream().mapToDouble(r -> Arrays.stream(ms, r.first(), r.last() + 1).sum()).max().orElseThrow();
    }

    private static void assertCovers(List<BlockRange> split, int blocks) {
        assertThat(split.getFirst().first()).isZero();
        assertThat(split.getLast().last()).isEqualTo(blocks - 1);
        for (int i = 1; i < split.size(); i++) {
            assertThat(split.get(i).first()).isEqualTo(split.get(i - 1).last() + 1);
        }
    }

    @Test
    void aHeavyLastBlockGetsFewerBlocksBesideIt() {
        // a decoder's shape: a cheap embedding, 12 equal layers, a head as costly as 3.5 layers
        double[] ms = new double[14];
        ms[0] = 0.1;
        Arrays.fill(ms, 1, 13, 1.0);
        ms[13] = 3.5;
        List<BlockRange> split = PipelineBenchCommand.balancedRanges(ms, 2);
        assertThat(split).containsExactly(new BlockRange(0, 8), new BlockRange(9, 13));
        assertThat(slowest(ms, split)).isCloseTo(8.1, within(1e-9));
        assertThat(slowest(ms, PipelineBenchCommand.equalRanges(14, 2))).as("the equal split is slower").isCloseTo(9.5, within(1e-9));
    }

    @Test
    void equalBlocksSplitAsTheEqualSplitDoesAndMorePartsThanBlocksGiveOneBlockEach() {
        double[] ms = new double[12];
        Arrays.fill(ms, 2.0);
        assertThat(slowest(ms, PipelineBenchCommand.balancedRanges(ms, 3))).isCloseTo(8.0, within(1e-9));
        assertThat(PipelineBenchCommand.balancedRanges(new double[] {1, 5, 2}, 5))
                .containsExactly(new BlockRange(0, 0), new BlockRange(1, 1), new BlockRange(2, 2));
        assertThat(PipelineBenchCommand.balancedRanges(new double[] {1, 5, 2}, 1)).containsExactly(new BlockRange(0, 2));
    }

    @Test
    void theSlowestStageIsTheSmallestOfEverySplitIntoThreeRanges() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 3 + r.nextInt(10);
            double[] ms = r.doubles(n, 0.1, 10).toArray();
            List<BlockRange> split = PipelineBenchCommand.balancedRanges(ms, 3);
            assertThat(split).hasSize(3);
            assertCovers(split, n);
            double best = Double.POSITIVE_INFINITY;
            for (int a = 1; a < n - 1; a++) {
                for (int b = a + 1; b < n; b++) {
                    List<BlockRange> s = List.of(new BlockRange(0, a - 1), new BlockRange(a, b - 1), new BlockRange(b, n - 1));
                    best = Math.min(best, slowest(ms, s));
                }
            }
            assertThat(slowest(ms, split)).as(Arrays.toString(ms)).isCloseTo(best, within(1e-9));
        }
    }
}
