package io.edgesplit.worker;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** A worker process's gRPC server: one {@link WorkerNode} on a port. Closing stops both. */
public final class WorkerServer implements AutoCloseable {
    /** KV caches of a sequence with no step for this long are freed (worker.kv-idle-timeout). */
    public static final java.time.Duration KV_IDLE_TIMEOUT = java.time.Duration.ofMinutes(5);

    private final Server server;
    private final WorkerNode node;
    private final Peers peers;

    private WorkerServer(Server server, WorkerNode node, Peers peers) {
        this.server = server;
        this.node = node;
        this.peers = peers;
    }

    /** Starts a worker on {@code port} (0: any free port). */
    public static WorkerServer start(String name, String zone, int port, int queueCapacity) {
        return start(name, zone, port, queueCapacity, 1.0);
    }

    /** @param speed below 1 emulates a slower device (see {@link WorkerNode}) */
    public static WorkerServer start(String name, String zone, int port, int queueCapacity, double speed) {
        Peers peers = new Peers();
        WorkerNode node = new WorkerNode(name, zone, queueCapacity, speed, peers);
        node.expireIdleSequences(KV_IDLE_TIMEOUT);
        try {
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress(port)).addService(node).directExecutor()
                    .maxInboundMessageSize(512 << 20).build().start();
            return new WorkerServer(server, node, peers);
        } catch (IOException e) {
            node.close();
            peers.close();
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "worker " + name + " cannot listen on port " + port + ": "
                    + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    public WorkerNode node() {
        return node;
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        server.shutdown();
        node.endStreams(); // peers' streams of steps stay open otherwise, and the shutdown would wait for them
        try {
            server.awaitTermination(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.shutdownNow();
        node.close();
        peers.close();
    }
}
