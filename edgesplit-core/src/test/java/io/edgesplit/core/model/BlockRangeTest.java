package io.edgesplit.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockRangeTest {

    @Test
    void parsesContiguousRanges() {
        assertThat(BlockRange.parseList("0-2,3-7", 8)).containsExactly(new BlockRange(0, 2), new BlockRange(3, 7));
        assertThat(BlockRange.parseList(" 4 ", 8)).containsExactly(BlockRange.single(4));
        assertThat(BlockRange.parseList("3-5", 8)).containsExactly(new BlockRange(3, 5));
    }

    @Test
    void refusesGapsOverlapsAndReversals() {
        for (String bad : List.of("0-2,4-7", "0-3,3-7", "5-2", "0-2,1-7")) {
            assertThatThrownBy(() -> BlockRange.parseList(bad, 8))
                    .as(bad)
                    .isInstanceOf(EdgeSplitException.class)
                    .extracting(e -> ((EdgeSplitException) e).code()).isEqualTo(ErrorCode.INVALID_RANGES);
        }
        assertThatThrownBy(() -> BlockRange.parseList("0-2,4-7", 8)).hasMessageContaining("should start at block 3");
    }

    @Test
    void refusesOutOfRangeAndMalformed() {
        assertThatThrownBy(() -> BlockRange.parseList("0-8", 8)).hasMessageContaining("blocks 0-7");
        assertThatThrownBy(() -> BlockRange.parseList("-1-3", 8)).isInstanceOf(EdgeSplitException.class);
        assertThatThrownBy(() -> BlockRange.parseList("a-b", 8)).hasMessageContaining("FIRST-LAST");
        assertThatThrownBy(() -> BlockRange.parseList("", 8)).hasMessageContaining("empty");
        assertThatThrownBy(() -> BlockRange.parseList("0-2,", 8)).isInstanceOf(EdgeSplitException.class);
    }

    @Test
    void rangeValidatesItsFields() {
        assertThatThrownBy(() -> new BlockRange(-1, 2)).hasMessageContaining("first < 0");
        assertThatThrownBy(() -> new BlockRange(3, 2)).hasMessageContaining("last < first");
        assertThat(new BlockRange(2, 5).size()).isEqualTo(4);
        assertThat(new BlockRange(2, 5)).hasToString("2-5");
    }
}
