package io.edgesplit.core.error;

/**
 * Every failure EdgeSplit reports carries one of these codes. Foreign exceptions are translated
 * into a code once, at the edge where they are caught.
 */
public enum ErrorCode {
    INVALID_ARGUMENT(ErrorCategory.USER_ERROR),
    CONFIG_INVALID(ErrorCategory.USER_ERROR),
    MODEL_NOT_FOUND(ErrorCategory.USER_ERROR),
    UNKNOWN_BUILTIN(ErrorCategory.USER_ERROR),
    MODEL_NOT_ONNX(ErrorCategory.USER_ERROR),
    MODEL_TRUNCATED(ErrorCategory.USER_ERROR),
    MODEL_TOO_LARGE(ErrorCategory.USER_ERROR),
    MODEL_INVALID(ErrorCategory.USER_ERROR),
    EXTERNAL_DATA_REFUSED(ErrorCategory.USER_ERROR),
    MODEL_UNSUPPORTED(ErrorCategory.USER_ERROR),
    NO_VALID_CUT(ErrorCategory.USER_ERROR),
    INVALID_RANGES(ErrorCategory.USER_ERROR),
    INPUT_INVALID(ErrorCategory.USER_ERROR),
    OUT_OF_MEMORY(ErrorCategory.INSUFFICIENT_RESOURCES),
    /** No plan places the request within what its privacy class, the nodes' memory or the policy's bounds allow. */
    NO_PLACEMENT(ErrorCategory.INSUFFICIENT_RESOURCES),
    RUNTIME_FAILED(ErrorCategory.EXTERNAL),
    IO_FAILED(ErrorCategory.EXTERNAL),
    INTERNAL(ErrorCategory.INTERNAL);

    private final ErrorCategory category;

    ErrorCode(ErrorCategory category) {
        this.category = category;
    }

    public ErrorCategory category() {
        return category;
    }
}
