package io.edgesplit.onnx.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns generated tokens into text as they arrive. Decodes the whole sequence and hands on what
 * is new, holding back a trailing incomplete character (a byte-fallback piece in the middle of a
 * multi-byte UTF-8 sequence decodes to U+FFFD until the rest arrives). Not thread-safe.
 */
public final class TextStream {
    private final Tokenizer tokenizer;
    private final int previous;
    private final List<Integer> ids = new ArrayList<>();
    private int emitted;

    /** @param previous the last prompt token (BOS for an empty prompt) */
    public TextStream(Tokenizer tokenizer, int previous) {
        this.tokenizer = tokenizer;
        this.previous = previous;
    }

    /** The new text after adding {@code token}; may be empty. */
    public String add(int token) {
        ids.add(token);
        String text = tokenizer.decode(ids.stream().mapToInt(Integer::intValue).toArray(), previous);
        int end = text.length();
        if (end > 0 && text.charAt(end - 1) == '\uFFFD') {
            return "";
        }
        if (end < emitted) {
            return "";
        }
        String fresh = text.substring(emitted);
        emitted = end;
        return fresh;
    }
}
