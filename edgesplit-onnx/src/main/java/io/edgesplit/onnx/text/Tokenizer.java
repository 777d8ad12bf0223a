package io.edgesplit.onnx.text;

import java.util.Set;

/** Text to token ids and back. Implementations holding native resources release them on close. */
public interface Tokenizer extends AutoCloseable {

    /** Token ids of the text, starting with the model's BOS token if it uses one. */
    int[] encode(String text);

    /** The text of a whole sequence of generated ids (no BOS), as the model's tokenizer prints it. */
    String decode(int[] ids, int previous);

    int vocabSize();

    /** Tokens that end generation. */
    Set<Integer> stopTokens();

    @Override
    default void close() {}
}
