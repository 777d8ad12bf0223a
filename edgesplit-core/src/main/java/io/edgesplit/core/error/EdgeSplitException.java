package io.edgesplit.core.error;

import java.util.Objects;

/** A categorized failure. The message names the problem and, where it helps, the way out. */
public final class EdgeSplitException extends RuntimeException {
    private final ErrorCode code;

    public EdgeSplitException(ErrorCode code, String message) {
        super(Objects.requireNonNull(message, "message == null"));
        this.code = Objects.requireNonNull(code, "code == null");
    }

    public EdgeSplitException(ErrorCode code, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message == null"), cause);
        this.code = Objects.requireNonNull(code, "code == null");
    }

    public ErrorCode code() {
        return code;
    }

    public ErrorCategory category() {
        return code.category();
    }

    public static EdgeSplitException invalidArgument(String message) {
        return new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
