package io.edgesplit.worker;

import io.edgesplit.wire.v1.ResultPart;
import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StepPart;
import io.edgesplit.wire.v1.StepRequest;
import io.edgesplit.wire.v1.StepResult;
import io.edgesplit.wire.v1.WorkerGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;

/** Sends steps and results as one message, or as a chunked stream when their tensors are large. */
final class Senders {
    private Senders() {}

    /** Sends a step to the worker at {@code address}: on the stream of steps to it, or chunked when large. */
    static void step(Peers peers, String address, StepRequest req, StreamObserver<StepAck> ack) {
        if (!Chunks.large(req.getTensorsList())) {
            peers.steps(address).send(req, ack);
            return;
        }
        StreamObserver<StepPart> out = peers.worker(address).stepStream(ack);
        out.onNext(StepPart.newBuilder().setRequest(req.toBuilder().clearTensors()
                .addAllTensors(Chunks.headers(req.getTensorsList()))).build());
        Chunks.chunks(req.getTensorsList(), c -> out.onNext(StepPart.newBuilder().setChunk(c).build()));
        out.onCompleted();
    }

    static void kv(WorkerGrpc.WorkerStub stub, io.edgesplit.wire.v1.KvState state, StreamObserver<StepAck> ack) {
        StreamObserver<io.edgesplit.wire.v1.KvPart> out = stub.importKv(ack);
        out.onNext(io.edgesplit.wire.v1.KvPart.newBuilder().setState(state.toBuilder().clearTensors()
                .addAllTensors(Chunks.headers(state.getTensorsList()))).build());
        Chunks.chunks(state.getTensorsList(), c -> out.onNext(io.edgesplit.wire.v1.KvPart.newBuilder().setChunk(c).build()));
        out.onCompleted();
    }

    /** Delivers a result to the gateway at {@code address}: on the stream of results to it, or chunked when large. */
    static void deliver(Peers peers, String address, StepResult result, StreamObserver<StepAck> ack) {
        if (!Chunks.large(result.getTensorsList())) {
            peers.results(address).send(result, ack);
            return;
        }
        StreamObserver<ResultPart> out = peers.gateway(address).deliverStream(ack);
        out.onNext(ResultPart.newBuilder().setResult(result.toBuilder().clearTensors()
                .addAllTensors(Chunks.headers(result.getTensorsList()))).build());
        Chunks.chunks(result.getTensorsList(), c -> out.onNext(ResultPart.newBuilder().setChunk(c).build()));
        out.onCompleted();
    }

    /**
     * Receives a streamed message: the first part is the message without tensor data, the rest its
     * chunks; on completion the whole message goes to {@code whole}. Malformed streams are refused.
     */
    static <P, M> StreamObserver<P> receiver(java.util.function.Function<P, M> messageOf,
            java.util.function.Function<P, io.edgesplit.wire.v1.TensorChunk> chunkOf,
            java.util.function.Function<M, java.util.List<io.edgesplit.wire.v1.Tensor>> tensorsOf,
            java.util.function.BiFunction<M, java.util.List<io.edgesplit.wire.v1.Tensor>, M> withTensors,
            Consumer<M> whole, StreamObserver<StepAck> reply) {
        return new StreamObserver<>() {
            private M header;
            private Chunks.Assembly assembly;
            private boolean failed;

            @Override
            public void onNext(P part) {
                if (failed) {
                    return;
                }
                try {
                    M m = messageOf.apply(part);
                    if (m != null) {
                        if (header != null) {
                            throw new io.edgesplit.core.error.EdgeSplitException(io.edgesplit.core.error.ErrorCode.INPUT_INVALID,
                                    "a streamed message has two headers");
                        }
                        header = m;
                        assembly = new Chunks.Assembly(tensorsOf.apply(m), 4 * TensorCodec.MAX_BYTES);
                    } else if (header == null) {
                        throw new io.edgesplit.core.error.EdgeSplitException(io.edgesplit.core.error.ErrorCode.INPUT_INVALID,
                                "a streamed message starts with a chunk");
                    } else {
                        assembly.add(chunkOf.apply(part));
                    }
                } catch (RuntimeException e) {
                    failed = true;
                    reply.onError(Statuses.of(e).asRuntimeException());
                }
            }

            @Override
            public void onError(Throwable t) {
                failed = true; // the sender went away mid-message: nothing was queued
            }

            @Override
            public void onCompleted() {
                if (failed) {
                    return;
                }
                if (header == null) {
                    reply.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription("empty stream").asRuntimeException());
                    return;
                }
                whole.accept(withTensors.apply(header, assembly.tensors()));
            }
        };
    }
}
