package io.edgesplit.onnx.graph;

import java.util.Locale;

/** What a symbolic dimension stands for, guessed from its name ({@code batch_size}, {@code past_seq_len}). */
public enum DimRole {
    BATCH,
    SEQUENCE,
    /** Tokens already in the KV cache. */
    PAST,
    /** Past plus new tokens ({@code total_seq_len}, {@code past_sequence_length + 1}). */
    TOTAL,
    /** Image height or width. */
    SPATIAL,
    OTHER;

    public static DimRole of(String dimParam) {
        String s = dimParam == null ? "" : dimParam.toLowerCase(Locale.ROOT);
        if (s.contains("batch")) {
            return BATCH;
        }
        if (s.contains("total") || s.contains("+") || s.contains("all_seq") || s.contains("present")) {
            return TOTAL;
        }
        if (s.contains("past") || s.contains("cache")) {
            return PAST;
        }
        if (s.contains("seq") || s.contains("len") || s.contains("token") || s.contains("time")) {
            return SEQUENCE;
        }
        if (s.contains("height") || s.contains("width") || s.contains("image") || s.contains("spatial")) {
            return SPATIAL;
        }
        return OTHER;
    }
}
