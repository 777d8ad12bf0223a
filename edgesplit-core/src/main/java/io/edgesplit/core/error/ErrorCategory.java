package io.edgesplit.core.error;

/** Who has to act on an error: the caller, the operator (resources), or us (a bug). */
public enum ErrorCategory {
    /** The request, model, file or configuration given is wrong; retrying unchanged fails again. */
    USER_ERROR,
    /** Not enough memory, capacity or quota right now; retrying later or elsewhere may work. */
    INSUFFICIENT_RESOURCES,
    /** A dependency outside our code (ONNX Runtime, a peer, the OS) failed. */
    EXTERNAL,
    /** A bug in EdgeSplit. */
    INTERNAL
}
