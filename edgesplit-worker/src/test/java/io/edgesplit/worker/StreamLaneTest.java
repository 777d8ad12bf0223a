package io.edgesplit.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StreamAck;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stream of messages to one peer: answers settle messages in order, a broken stream fails the waiting ones. */
class StreamLaneTest {

    /** One opened stream as the lane sees it: what was sent on it, and the observer of its answers. */
    private static class Call implements StreamObserver<String> {
        final List<String> sent = new ArrayList<>();
        StreamObserver<StreamAck> answers;
        boolean completed;

        @Override
        public void onNext(String value) {
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
            completed = true;
        }
    }

    /** How one message was settled: "ok", or the status code and description. */
    private static final class Outcome implements StreamObserver<StepAck> {
        String result;
        int settled;

        @Override
        public void onNext(StepAck value) {}

        @Override
        public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            result = s.getCode() + " " + s.getDescription();
            settled++;
        }

        @Override
        public void onCompleted() {
            result = "ok";
            settled++;
        }
    }

    private final List<Call> calls = new ArrayList<>();
    private final StreamLane<String> lane = new StreamLane<>(answers -> {
        Call c = new Call();
        c.answers = answers;
        calls.add(c);
        return c;
    });

    private static StreamAck refused(Status.Code code, String why) {
        return StreamAck.newBuilder().setErrorCode(code.name()).setErrorMessage(why).build();
    }

    @Test
    void answersSettleTheMessagesInTheOrderSentOnOneStream() {
        Outcome a = new Outcome();
        Outcome b = new Outcome();
        Outcome c = new Outcome();
        lane.send("a", a);
        lane.send("b", b);
        lane.send("c", c);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().sent).containsExactly("a", "b", "c");
        StreamObserver<StreamAck> answers = calls.getFirst().answers;
        answers.onNext(StreamAck.getDefaultInstance());
        assertThat(a.result).isEqualTo("ok");
        assertThat(b.settled).isZero();
        answers.onNext(refused(Status.Code.RESOURCE_EXHAUSTED, "worker w1: step queue is full"));
        answers.onNext(refused(Status.Code.valueOf("INVALID_ARGUMENT"), "bad CRC"));
        assertThat(b.result).isEqualTo("RESOURCE_EXHAUSTED worker w1: step queue is full");
        assertThat(c.result).isEqualTo("INVALID_ARGUMENT bad CRC");
        assertThat(List.of(a.settled, b.settled, c.settled)).containsOnly(1);
    }

    @Test
    void aBrokenStreamFailsEveryWaitingMessageAndTheNextMessageOpensANewOne() {
        Outcome a = new Outcome();
        Outcome b = new Outcome();
        lane.send("a", a);
        lane.send("b", b);
        calls.getFirst().answers.onNext(StreamAck.getDefaultInstance());
        Outcome c = new Outcome();
        lane.send("c", c);
        calls.getFirst().answers.onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
        assertThat(a.result).isEqualTo("ok");
        assertThat(b.result).isEqualTo("UNAVAILABLE connection reset");
        assertThat(c.result).isEqualTo("UNAVAILABLE connection reset");

        Outcome d = new Outcome();
        lane.send("d", d);
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).sent).containsExactly("d");
        calls.get(1).answers.onNext(StreamAck.getDefaultInstance());
        assertThat(d.result).isEqualTo("ok");
        // a late answer on the old stream settles nothing twice
        calls.getFirst().answers.onNext(StreamAck.getDefaultInstance());
        assertThat(List.of(a.settled, b.settled, c.settled, d.settled)).containsOnly(1);
    }

    @Test
    void aPeerThatEndsTheStreamFailsTheWaitingMessagesAsUnavailable() {
        Outcome a = new Outcome();
        lane.send("a", a);
        calls.getFirst().answers.onCompleted();
        assertThat(a.result).startsWith("UNAVAILABLE");
    }

    @Test
    void aCallThatFailsAsItStartsRefusesTheMessageAndIsOpenedAgainNextTime() {
        List<StreamObserver<StreamAck>> opened = new ArrayList<>();
        StreamLane<String> failing = new StreamLane<>(answers -> {
            opened.add(answers);
            answers.onError(Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException());
            return new Call();
        });
        Outcome a = new Outcome();
        failing.send("a", a);
        assertThat(a.result).isEqualTo("UNAVAILABLE connection refused");
        Outcome b = new Outcome();
        failing.send("b", b);
        assertThat(opened).hasSize(2);
        assertThat(b.settled).isEqualTo(1);
    }

    @Test
    void aClosedLaneEndsItsStreamAndRefusesNewMessages() {
        lane.send("a", new Outcome());
        lane.close();
        assertThat(calls.getFirst().completed).isTrue();
        Outcome b = new Outcome();
        lane.send("b", b);
        assertThat(b.result).startsWith("UNAVAILABLE");
        assertThat(calls).hasSize(1);
    }

    @Test
    void aMessageThatCannotBeSentFailsAloneAndTheStreamIsGivenUp() {
        List<StreamObserver<StreamAck>> opened = new ArrayList<>();
        boolean[] cancelled = {false};
        StreamLane<String> lane = new StreamLane<>(answers -> {
            opened.add(answers);
            return new Call() {
                @Override
                public void onNext(String value) {
                    if (value.equals("unsendable")) {
                        throw new IllegalStateException("cannot serialize");
                    }
                    super.onNext(value);
                }

                @Override
                public void onError(Throwable t) {
                    cancelled[0] = true;
                }
            };
        });
        Outcome a = new Outcome();
        lane.send("a", a);
        Outcome bad = new Outcome();
        lane.send("unsendable", bad);
        assertThat(bad.result).startsWith("INTERNAL could not send on the stream");
        assertThat(a.settled).isZero(); // still waiting for its answer, or for the stream's end
        assertThat(cancelled[0]).isTrue();
        opened.getFirst().onError(Status.CANCELLED.asRuntimeException());
        assertThat(a.result).startsWith("CANCELLED");
        Outcome c = new Outcome();
        lane.send("c", c);
        assertThat(opened).hasSize(2);
    }

    /** What a receiving stream sent back. */
    private static final class Answers implements StreamObserver<StreamAck> {
        final List<String> got = new ArrayList<>();
        boolean completed;

        @Override
        public void onNext(StreamAck value) {
            got.add(value.getErrorCode().isEmpty() ? "ok" : value.getErrorCode() + " " + value.getErrorMessage());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
            completed = true;
        }
    }

    @Test
    void theReceivingEndAnswersEveryMessageOnceInOrderEvenWhenAHandlerForgetsTo() {
        StreamLane.Incoming incoming = new StreamLane.Incoming();
        Answers answers = new Answers();
        StreamObserver<String> in = incoming.accept((String m, StreamObserver<StepAck> ack) -> {
            switch (m) {
                case "ok" -> {
                    ack.onNext(StepAck.getDefaultInstance());
                    ack.onCompleted();
                }
                case "refused" -> ack.onError(Status.FAILED_PRECONDITION.withDescription("zone").asRuntimeException());
                case "twice" -> {
                    ack.onCompleted();
                    ack.onError(Status.INTERNAL.asRuntimeException());
                }
                default -> { } // forgets to answer
            }
        }, answers);
        for (String m : List.of("ok", "refused", "silent", "twice", "ok")) {
            in.onNext(m);
        }
        assertThat(answers.got).containsExactly("ok", "FAILED_PRECONDITION zone", "INTERNAL the message was not answered",
                "ok", "ok");
        incoming.closeAll();
        assertThat(answers.completed).isTrue();
    }
}
