package io.edgesplit.onnx.graph;

import io.edgesplit.core.error.EdgeSplitException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Values for a graph's symbolic dimensions: by role, unless a dimension is set by name.
 *
 * @param batch value of batch dimensions
 * @param sequence new tokens per step
 * @param past tokens already cached
 * @param spatial image height and width
 * @param other any other symbolic dimension
 * @param byName values set by name ({@code --dim NAME=VALUE}); they win over roles
 */
public record DimValues(long batch, long sequence, long past, long spatial, long other, Map<String, Long> byName) {

    public DimValues {
        if (batch < 1 || sequence < 1 || past < 0 || spatial < 1 || other < 1) {
            throw new IllegalArgumentException("dimension values must be >= 1 (past >= 0): " + batch + ","
                    + sequence + "," + past + "," + spatial + "," + other);
        }
        byName = Map.copyOf(byName);
    }

    /** Small sizes for running a model once: batch 2, 8 tokens, empty cache. */
    public static DimValues defaults() {
        return new DimValues(2, 8, 0, 64, 4, Map.of());
    }

    public DimValues withByName(Map<String, Long> values) {
        Map<String, Long> merged = new TreeMap<>(byName);
        merged.putAll(values);
        return new DimValues(batch, sequence, past, spatial, other, merged);
    }

    public DimValues withSequence(long newSequence, long newPast) {
        return new DimValues(batch, newSequence, newPast, spatial, other, byName);
    }

    public long valueOf(String dimParam) {
        Long set = byName.get(dimParam);
        if (set != null) {
            return set;
        }
        return switch (DimRole.of(dimParam)) {
            case BATCH -> batch;
            case SEQUENCE -> sequence;
            case PAST -> past;
            case TOTAL -> past + sequence;
            case SPATIAL -> spatial;
            case OTHER -> other;
        };
    }

    /** Parses {@code NAME=VALUE}. */
    public static Map.Entry<String, Long> parseAssignment(String text) {
        int eq = text.indexOf('=');
        if (eq <= 0) {
            throw EdgeSplitException.invalidArgument("--dim '" + text + "' is not of the form NAME=VALUE");
        }
        try {
            long v = Long.parseLong(text.substring(eq + 1).strip());
            if (v < 0 || v > 1_000_000) {
                throw new NumberFormatException();
            }
            return Map.entry(text.substring(0, eq).strip(), v);
        } catch (NumberFormatException e) {
            throw EdgeSplitException.invalidArgument(
                    "--dim '" + text + "': VALUE must be an integer between 0 and 1000000");
        }
    }
}
