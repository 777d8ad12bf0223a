package io.edgesplit.onnx.runtime;

/** How a stage's block range becomes ORT sessions. */
public enum SessionLayout {
    /** One session per block, chained: the range can later shrink or grow block by block. */
    PER_BLOCK,
    /** One session for the whole range, extracted as one model. */
    PER_STAGE
}
