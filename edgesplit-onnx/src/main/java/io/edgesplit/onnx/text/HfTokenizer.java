package io.edgesplit.onnx.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, run by DJL's tokenizers (native Rust library). Owns a
 * native tokenizer; close it.
 */
public final class HfTokenizer implements Tokenizer {
    private static final Map<String, String> OPTIONS = Map.of("addSpecialTokens", "true", "truncation", "false",
            "padding", "false");
    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final int bos;
    private final Set<Integer> stops;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, int bos, Set<Integer> stops) {
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.stops = Set.copyOf(stops);
    }

    /**
     * @param bos the id to start from when the prompt encodes to nothing (GPT-2's empty prompt), or -1;
     *     BOS otherwise comes from the tokenizer's own template, as in transformers
     * @param stops the model's end-of-sequence ids
     */
    public static HfTokenizer open(Path tokenizerJson, int vocabSize, int bos, Set<Integer> stops) {
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS);
            return new HfTokenizer(t, vocabSize, bos, stops);
        } catch (IOException | RuntimeException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID,
                    "cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** As {@link #open(Path, int, int, Set)}, from the bytes of a tokenizer.json named {@code what}. */
    public static HfTokenizer open(byte[] tokenizerJson, String what, int vocabSize, int bos, Set<Integer> stops) {
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(tokenizerJson), OPTIONS);
            return new HfTokenizer(t, vocabSize, bos, stops);
        } catch (IOException | RuntimeException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_INVALID, "cannot read tokenizer " + what + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        Encoding e = tokenizer.encode(text, true, false);
        long[] ids = e.getIds();
        if (ids.length == 0 && bos >= 0) {
            return new int[] {bos};
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] ids, int previous) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public Set<Integer> stopTokens() {
        return stops;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
