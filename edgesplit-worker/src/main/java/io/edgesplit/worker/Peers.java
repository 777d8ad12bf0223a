package io.edgesplit.worker;

import io.edgesplit.wire.v1.GatewayGrpc;
import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.WorkerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One channel per peer address, opened on first use and kept. Plaintext for now; TLS and per-call
 * credentials go in here as channel credentials and interceptors.
 */
public final class Peers implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final Map<String, StreamLane<io.edgesplit.wire.v1.StepRequest>> stepLanes = new ConcurrentHashMap<>();
    private final Map<String, StreamLane<io.edgesplit.wire.v1.StepResult>> resultLanes = new ConcurrentHashMap<>();
    private final LinkEmulator links = new LinkEmulator();

    LinkEmulator links() {
        return links;
    }

    ManagedChannel channel(String address) {
        return channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a).usePlaintext().directExecutor()
                .maxInboundMessageSize(512 << 20).build());
    }

    WorkerGrpc.WorkerStub worker(String address) {
        return WorkerGrpc.newStub(channel(address));
    }

    public WorkerGrpc.WorkerBlockingStub workerBlocking(String address) {
        return WorkerGrpc.newBlockingStub(channel(address));
    }

    GatewayGrpc.GatewayStub gateway(String address) {
        return GatewayGrpc.newStub(channel(address));
    }

    /** The stream of steps to the worker at {@code address}. */
    StreamLane<io.edgesplit.wire.v1.StepRequest> steps(String address) {
        return stepLanes.computeIfAbsent(address, a -> new StreamLane<>(answers -> worker(a).steps(answers)));
    }

    /** The stream of results to the gateway at {@code address}. */
    StreamLane<io.edgesplit.wire.v1.StepResult> results(String address) {
        return resultLanes.computeIfAbsent(address, a -> new StreamLane<>(answers -> gateway(a).results(answers)));
    }

    static StreamObserver<StepAck> ignore() {
        return new StreamObserver<>() {
            @Override
            public void onNext(StepAck value) {}

            @Override
            public void onError(Throwable t) {
                // the gateway is gone: nobody is waiting for this result any more
            }

            @Override
            public void onCompleted() {}
        };
    }

    @Override
    public void close() {
        links.close();
        stepLanes.values().forEach(StreamLane::close);
        resultLanes.values().forEach(StreamLane::close);
        channels.values().forEach(ManagedChannel::shutdown);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
