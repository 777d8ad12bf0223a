package io.edgesplit.onnx.load;

/**
 * Limits applied while loading a model, before anything large is read.
 *
 * @param maxModelBytes the largest model (file plus external data) accepted
 */
public record LoadLimits(long maxModelBytes) {
    /** Protobuf messages cannot exceed 2 GiB; larger models need external data. */
    public static final long DEFAULT_MAX_MODEL_BYTES = 2L * 1024 * 1024 * 1024 - 1;

    public LoadLimits {
        if (maxModelBytes <= 0) {
            throw new IllegalArgumentException("maxModelBytes must be > 0: " + maxModelBytes);
        }
    }

    public static LoadLimits defaults() {
        return new LoadLimits(DEFAULT_MAX_MODEL_BYTES);
    }
}
