package io.edgesplit.orchestrator.http;

import io.edgesplit.core.error.EdgeSplitException;

/** An error answered in OpenAI's shape: an HTTP status, a type, the parameter at fault (or null) and a code. */
final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError badParam(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, "invalid_parameter", message);
    }

    /** A categorized EdgeSplit error: user errors are 400, missing resources 503, the rest 500. */
    static ApiError of(EdgeSplitException e) {
        return switch (e.category()) {
            case USER_ERROR -> new ApiError(400, "invalid_request_error", null, e.code().name().toLowerCase(), e.getMessage());
            case INSUFFICIENT_RESOURCES -> new ApiError(503, "server_error", null, e.code().name().toLowerCase(), e.getMessage());
            case EXTERNAL -> new ApiError(503, "server_error", null, e.code().name().toLowerCase(), e.getMessage());
            case INTERNAL -> new ApiError(500, "server_error", null, e.code().name().toLowerCase(), e.getMessage());
        };
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    String param() {
        return param;
    }

    String code() {
        return code;
    }
}
