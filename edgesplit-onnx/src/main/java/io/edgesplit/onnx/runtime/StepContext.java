package io.edgesplit.onnx.runtime;

/**
 * What a stage needs to know about the request it runs a step of.
 *
 * @param sequenceId the generative sequence whose KV cache to use and extend, or null for a
 *     stateless run (KV blocks then start from an empty cache and keep nothing)
 * @param batch rows in the request's tensors
 */
public record StepContext(String sequenceId, long batch) {
    public StepContext {
        if (batch < 1) {
            throw new IllegalArgumentException("batch < 1: " + batch);
        }
    }

    public static StepContext stateless(long batch) {
        return new StepContext(null, batch);
    }

    public static StepContext sequence(String id, long batch) {
        return new StepContext(java.util.Objects.requireNonNull(id, "id == null"), batch);
    }
}
