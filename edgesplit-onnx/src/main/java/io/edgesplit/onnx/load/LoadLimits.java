package io.edgesplit.onnx.load;

/**
 * Limits applied while loading a model, before anything large is read.
 *
 * @param maxModelBytes the largest model (file plus external data) accepted
 */
public record LoadLimits(long maxModelBytes) {
    /**
     * 4 GiB. Protobuf's 2 GiB no longer bounds a model: files past it come with external data, and
     * sessions on more than 2 GiB take their largest weights from native memory
     * ({@code ExternalInitializers}). Memory does: loading and analysing a model peaks at about 3.5x
     * its size (21 GB for a 6 GB Llama-3.2-1B shape, measured on a 24 GiB machine).
     */
    public static final long DEFAULT_MAX_MODEL_BYTES = 4L * 1024 * 1024 * 1024;

    public LoadLimits {
        if (maxModelBytes <= 0) {
            throw new IllegalArgumentException("maxModelBytes must be > 0: " + maxModelBytes);
        }
    }

    public static LoadLimits defaults() {
        return new LoadLimits(DEFAULT_MAX_MODEL_BYTES);
    }
}
