package io.edgesplit.worker;

import io.edgesplit.wire.v1.ControlGrpc;
import io.edgesplit.wire.v1.HeartbeatReply;
import io.edgesplit.wire.v1.HeartbeatRequest;
import io.edgesplit.wire.v1.JoinReply;
import io.edgesplit.wire.v1.JoinRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A worker's membership in an orchestrator's cluster: joins, then sends a heartbeat with its
 * telemetry every interval the orchestrator asked for. When the orchestrator cannot be reached the
 * worker goes on serving its current routes and keeps trying; when the orchestrator does not know
 * it (it restarted, or declared this worker dead), it joins again, reporting what it has loaded.
 */
public final class Membership implements AutoCloseable {
    private final ManagedChannel channel;
    private final JoinRequest join;
    private final Supplier<io.edgesplit.wire.v1.Telemetry> telemetry;
    private final Consumer<String> log;
    private final Thread thread;
    private volatile boolean closed;
    private volatile long incarnation = -1;

    private Membership(String orchestrator, JoinRequest join, Supplier<io.edgesplit.wire.v1.Telemetry> telemetry,
            Consumer<String> log) {
        this.channel = NettyChannelBuilder.forTarget(orchestrator).usePlaintext().build();
        this.join = join;
        this.telemetry = telemetry;
        this.log = log;
        this.thread = Thread.ofVirtual().name("membership-" + join.getName()).unstarted(this::loop);
    }

    /** Starts joining {@code orchestrator} (host:port) in the background. */
    public static Membership start(String orchestrator, JoinRequest join, Supplier<io.edgesplit.wire.v1.Telemetry> telemetry,
            Consumer<String> log) {
        Membership m = new Membership(orchestrator, join, telemetry, log);
        m.thread.start();
        return m;
    }

    /** The incarnation the orchestrator gave this worker, or -1 before it joined. */
    public long incarnation() {
        return incarnation;
    }

    private void loop() {
        ControlGrpc.ControlBlockingStub stub = ControlGrpc.newBlockingStub(channel);
        long heartbeatMs = 500;
        boolean reachable = true;
        while (!closed) {
            try {
                if (incarnation < 0) {
                    JoinReply r = stub.withDeadlineAfter(5, TimeUnit.SECONDS).join(join);
                    incarnation = r.getIncarnation();
                    heartbeatMs = Math.max(20, r.getHeartbeatMs());
                    log.accept("worker " + join.getName() + " joined the orchestrator (incarnation " + incarnation + ")");
                } else {
                    HeartbeatReply r = stub.withDeadlineAfter(Math.max(1000, 2 * heartbeatMs), TimeUnit.MILLISECONDS)
                            .heartbeat(HeartbeatRequest.newBuilder().setName(join.getName()).setIncarnation(incarnation)
                                    .setTelemetry(telemetry.get()).build());
                    if (r.getRejoin()) {
                        incarnation = -1;
                        continue;
                    }
                }
                if (!reachable) {
                    log.accept("worker " + join.getName() + ": the orchestrator is back");
                    reachable = true;
                }
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                    log.accept("worker " + join.getName() + " was refused: " + e.getStatus().getDescription());
                } else if (reachable) {
                    log.accept("worker " + join.getName() + ": the orchestrator does not answer (" + e.getStatus().getCode()
                            + "); serving the current routes and trying again");
                    reachable = false;
                }
            }
            try {
                Thread.sleep(heartbeatMs);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        channel.shutdownNow();
    }
}
