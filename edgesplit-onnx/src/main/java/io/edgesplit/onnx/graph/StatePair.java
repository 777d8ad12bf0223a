package io.edgesplit.onnx.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A decoder's KV-cache pair: the graph input that takes the cache ({@code past_0},
 * {@code past_key_values.3.key}) and the graph output that returns it grown by the new tokens
 * ({@code present_0}, {@code present.3.key}).
 */
public record StatePair(String past, String present) {
    public StatePair {
        Objects.requireNonNull(past, "past == null");
        Objects.requireNonNull(present, "present == null");
    }

    /** Pairs inputs and outputs whose names differ only in their past/present words. */
    public static List<StatePair> detect(List<String> inputs, List<String> outputs) {
        Map<String, String> pastByKey = new HashMap<>();
        for (String in : inputs) {
            String lower = in.toLowerCase(Locale.ROOT);
            if (lower.contains("past") || lower.contains("cache_in")) {
                pastByKey.put(key(lower), in);
            }
        }
        List<StatePair> pairs = new ArrayList<>();
        for (String out : outputs) {
            String lower = out.toLowerCase(Locale.ROOT);
            if (lower.contains("present") || lower.contains("cache_out")) {
                String past = pastByKey.get(key(lower));
                if (past != null) {
                    pairs.add(new StatePair(past, out));
                }
            }
        }
        return List.copyOf(pairs);
    }

    private static String key(String lower) {
        String k = lower;
        for (String word : new String[] {"past_key_values", "past_key_value", "present_key_values",
                "present_key_value", "cache_in", "cache_out", "past", "present"}) {
            k = k.replace(word, "");
        }
        return k.replaceAll("^[._/:-]+|[._/:-]+$", "");
    }
}
