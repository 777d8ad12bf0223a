package io.edgesplit.core.model;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.util.ArrayList;
import java.util.List;

/** A contiguous, inclusive range of block indices: the unit a stage runs. */
public record BlockRange(int first, int last) {

    public BlockRange {
        if (first < 0) {
            throw new IllegalArgumentException("first < 0: " + first);
        }
        if (last < first) {
            throw new IllegalArgumentException("last < first: " + first + "-" + last);
        }
    }

    public static BlockRange single(int index) {
        return new BlockRange(index, index);
    }

    public int size() {
        return last - first + 1;
    }

    public boolean contains(int index) {
        return index >= first && index <= last;
    }

    @Override
    public String toString() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }

    /**
     * Parses {@code "0-2,3-7"}: ranges in order, each starting right after the previous one ends,
     * all within {@code [0, blockCount)}. A single index {@code "4"} is the range 4-4.
     *
     * @throws EdgeSplitException with {@link ErrorCode#INVALID_RANGES} naming the offending part
     */
    public static List<BlockRange> parseList(String spec, int blockCount) {
        if (spec == null || spec.isBlank()) {
            throw new EdgeSplitException(ErrorCode.INVALID_RANGES, "--ranges is empty");
        }
        List<BlockRange> ranges = new ArrayList<>();
        for (String part : spec.split(",", -1)) {
            String p = part.strip();
            int first;
            int last;
            try {
                int dash = p.indexOf('-', 1);
                if (dash < 0) {
                    first = last = Integer.parseInt(p);
                } else {
                    first = Integer.parseInt(p.substring(0, dash).strip());
                    last = Integer.parseInt(p.substring(dash + 1).strip());
                }
            } catch (NumberFormatException e) {
                throw new EdgeSplitException(ErrorCode.INVALID_RANGES,
                        "range '" + p + "' in '" + spec + "' is not of the form FIRST-LAST (e.g. 0-2,3-7)");
            }
            if (first < 0 || last >= blockCount || first > last) {
                throw new EdgeSplitException(ErrorCode.INVALID_RANGES,
                        "range '" + p + "' is out of range: the model has blocks 0-" + (blockCount - 1)
                                + " and a range goes from a lower to a higher index");
            }
            if (!ranges.isEmpty() && first != ranges.getLast().last() + 1) {
                throw new EdgeSplitException(ErrorCode.INVALID_RANGES,
                        "ranges are not contiguous: '" + p + "' should start at block "
                                + (ranges.getLast().last() + 1) + " (right after " + ranges.getLast() + ")");
            }
            ranges.add(new BlockRange(first, last));
        }
        return List.copyOf(ranges);
    }
}
