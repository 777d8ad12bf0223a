package io.edgesplit.worker;

import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StreamAck;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One long-lived stream of messages to one peer (steps to a worker, results to a gateway), opened
 * on first use and again after it broke. A call per message costs HTTP/2 headers, trailers and a
 * new call on both sides; a stream costs one frame.
 *
 * <p>Every message gets one {@link StreamAck} back, in the order sent, which settles the observer
 * given with it as a unary call would: {@code onNext} and {@code onCompleted} when the peer took
 * it, {@code onError} with the peer's status when it refused it. When the stream breaks, every
 * message still waiting for its answer fails with the stream's status (UNAVAILABLE when the peer
 * died), and the next message opens a new stream.
 */
final class StreamLane<T> implements AutoCloseable {
    private final Function<StreamObserver<StreamAck>, StreamObserver<T>> open;
    private StreamObserver<T> out; // guarded by this, like answers and closed
    private Answers answers;
    private boolean closed;

    /** @param open starts the stream's call with the observer of its answers */
    StreamLane(Function<StreamObserver<StreamAck>, StreamObserver<T>> open) {
        this.open = open;
    }

    void send(T message, StreamObserver<StepAck> ack) {
        Status refused;
        synchronized (this) {
            if (closed) {
                refused = Status.UNAVAILABLE.withDescription("the sender is shutting down");
            } else {
                if (out == null) {
                    answers = new Answers();
                    out = open.apply(answers);
                }
                refused = answers.failure;
                if (refused == null) {
                    answers.waiting.add(ack);
                    try {
                        out.onNext(message);
                        return;
                    } catch (RuntimeException e) {
                        // not sent, so no answer will come for it: the answers of the rest would be out of
                        // step, so the stream is given up (its waiting messages fail as it ends)
                        if (answers.waiting.peekLast() != ack) {
                            return; // the stream ended meanwhile and failed it already
                        }
                        answers.waiting.removeLast();
                        refused = Status.INTERNAL.withDescription("could not send on the stream: " + e).withCause(e);
                        StreamObserver<T> broken = out;
                        out = null;
                        if (broken != null) {
                            broken.onError(e);
                        }
                    }
                } else {
                    out = null; // the call failed as it started
                }
            }
        }
        ack.onError(refused.asRuntimeException());
    }

    /** Ends the stream; messages still waiting for answers get them, or fail when the peer goes. */
    @Override
    public synchronized void close() {
        closed = true;
        if (out != null) {
            out.onCompleted();
            out = null;
        }
    }

    /** The answers of one stream: they settle its waiting messages in order. */
    private final class Answers implements StreamObserver<StreamAck> {
        final ArrayDeque<StreamObserver<StepAck>> waiting = new ArrayDeque<>();
        Status failure;

        @Override
        public void onNext(StreamAck answer) {
            StreamObserver<StepAck> ack;
            synchronized (StreamLane.this) {
                ack = waiting.poll();
            }
            if (ack == null) {
                return; // an answer to nothing sent: the peer is confused; the stream's end will tell
            }
            if (answer.getErrorCode().isEmpty()) {
                ack.onNext(StepAck.getDefaultInstance());
                ack.onCompleted();
            } else {
                Status.Code code;
                try {
                    code = Status.Code.valueOf(answer.getErrorCode());
                } catch (IllegalArgumentException e) {
                    code = Status.Code.UNKNOWN;
                }
                ack.onError(Status.fromCode(code).withDescription(answer.getErrorMessage()).asRuntimeException());
            }
        }

        @Override
        public void onError(Throwable t) {
            end(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            end(Status.UNAVAILABLE.withDescription("the peer closed the stream"));
        }

        private void end(Status status) {
            List<StreamObserver<StepAck>> failed;
            synchronized (StreamLane.this) {
                failure = status;
                if (answers == this) {
                    out = null;
                }
                failed = new ArrayList<>(waiting);
                waiting.clear();
            }
            for (StreamObserver<StepAck> ack : failed) {
                ack.onError(status.asRuntimeException());
            }
        }
    }

    /**
     * The receiving end: the streams peers opened to this server. Each message goes to a handler
     * that settles the observer given with it before it returns (as the unary handlers do), so
     * answers leave in the order the messages came.
     */
    static final class Incoming {
        private final Set<StreamObserver<StreamAck>> open = ConcurrentHashMap.newKeySet();

        <T> StreamObserver<T> accept(BiConsumer<T, StreamObserver<StepAck>> handler, StreamObserver<StreamAck> answers) {
            open.add(answers);
            return new StreamObserver<>() {
                @Override
                public void onNext(T message) {
                    Settle settle = new Settle(answers);
                    handler.accept(message, settle);
                    if (!settle.done) {
                        // a handler that did not answer would put every later answer out of step
                        settle.answer(StreamAck.newBuilder().setErrorCode(Status.Code.INTERNAL.name())
                                .setErrorMessage("the message was not answered").build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    open.remove(answers); // the sender went away
                }

                @Override
                public void onCompleted() {
                    end(answers); // the sender ended its side: so does this one
                }
            };
        }

        /** Ends every open stream, so that a graceful shutdown need not wait for senders to end theirs. */
        void closeAll() {
            open.forEach(this::end);
        }

        /** Ends one stream from this side, once, whoever gets there first. */
        private void end(StreamObserver<StreamAck> answers) {
            if (!open.remove(answers)) {
                return;
            }
            synchronized (answers) {
                try {
                    answers.onCompleted();
                } catch (RuntimeException alreadyEnded) {
                    // the call ended meanwhile (the sender went away)
                }
            }
        }
    }

    /** Turns a handler's unary-style answer into the stream's answer for that message. */
    private static final class Settle implements StreamObserver<StepAck> {
        private final StreamObserver<StreamAck> answers;
        boolean done;

        Settle(StreamObserver<StreamAck> answers) {
            this.answers = answers;
        }

        @Override
        public void onNext(StepAck value) {}

        @Override
        public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            answer(StreamAck.newBuilder().setErrorCode(s.getCode().name())
                    .setErrorMessage(s.getDescription() == null ? "" : s.getDescription()).build());
        }

        @Override
        public void onCompleted() {
            answer(StreamAck.getDefaultInstance());
        }

        void answer(StreamAck ack) {
            if (done) {
                return;
            }
            done = true;
            synchronized (answers) {
                try {
                    answers.onNext(ack);
                } catch (RuntimeException ended) {
                    // the stream ended (shutdown, or the sender went away): the sender learns it from the end
                }
            }
        }
    }
}
