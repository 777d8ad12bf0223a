package io.edgesplit.worker;

import io.edgesplit.core.error.EdgeSplitException;
import io.grpc.Status;

/** EdgeSplit errors as gRPC statuses, translated once at the edge (STYLE.md rule 8). */
final class Statuses {
    private Statuses() {}

    static Status of(Throwable e) {
        if (e instanceof EdgeSplitException es) {
            Status s = switch (es.category()) {
                case USER_ERROR -> Status.INVALID_ARGUMENT;
                case INSUFFICIENT_RESOURCES -> Status.RESOURCE_EXHAUSTED;
                case EXTERNAL -> Status.UNAVAILABLE;
                case INTERNAL -> Status.INTERNAL;
            };
            return s.withDescription("[" + es.code() + "] " + es.getMessage());
        }
        return Status.INTERNAL.withDescription(e.toString());
    }
}
