package io.edgesplit.onnx.text;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/** Where a model's tokenizer comes from; {@link #open} makes it. */
public sealed interface TokenizerRef {

    Tokenizer open();

    /** A llama2.c tokenizer file's bytes. */
    record Llama2c(byte[] bytes, int vocabSize, String what) implements TokenizerRef {
        public Llama2c {
            Objects.requireNonNull(bytes, "bytes == null");
        }

        @Override
        public Tokenizer open() {
            return Llama2cTokenizer.parse(bytes, vocabSize, what);
        }
    }

    /** A Hugging Face tokenizer.json. */
    record HuggingFace(Path file, int vocabSize, int bos, Set<Integer> stops) implements TokenizerRef {
        public HuggingFace {
            Objects.requireNonNull(file, "file == null");
            stops = Set.copyOf(stops);
        }

        @Override
        public Tokenizer open() {
            return HfTokenizer.open(file, vocabSize, bos, stops);
        }
    }

    /** A Hugging Face tokenizer.json held in memory (e.g. read from a jar), named {@code what} in errors. */
    record HuggingFaceJson(byte[] json, String what, int vocabSize, int bos, Set<Integer> stops) implements TokenizerRef {
        public HuggingFaceJson {
            Objects.requireNonNull(json, "json == null");
            stops = Set.copyOf(stops);
        }

        @Override
        public Tokenizer open() {
            return HfTokenizer.open(json, what, vocabSize, bos, stops);
        }
    }
}
