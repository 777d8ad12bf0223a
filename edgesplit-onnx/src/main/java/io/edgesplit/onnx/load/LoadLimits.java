package io.edgesplit.onnx.load;

/**
 * Limits applied while loading a model, before anything large is read.
 *
 * @param maxModelBytes the largest model (file plus external data) accepted
 */
public record LoadLimits(long maxModelBytes) {
    /**
     * 8 GiB. Protobuf's 2 GiB no longer bounds a model: files past it come with external data, and
     * sessions on more than 1 GiB take their largest weights from native memory
     * ({@code ExternalInitializers}). Memory does: running a model in one process holds it about
     * three times at once (the protobuf on the heap, the native copy handed to ONNX Runtime, and
     * ONNX Runtime's optimized weights): 22 GB at the peak for the 6 GB builtin:llama-1b-shape with an
     * 8 GB heap, measured on a 24 GiB machine.
     */
    public static final long DEFAULT_MAX_MODEL_BYTES = 8L * 1024 * 1024 * 1024;

    public LoadLimits {
        if (maxModelBytes <= 0) {
            throw new IllegalArgumentException("maxModelBytes must be > 0: " + maxModelBytes);
        }
    }

    public static LoadLimits defaults() {
        return new LoadLimits(DEFAULT_MAX_MODEL_BYTES);
    }
}
