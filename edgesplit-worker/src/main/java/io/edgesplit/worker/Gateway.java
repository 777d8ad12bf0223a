package io.edgesplit.worker;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.EmulatedLink;
import io.edgesplit.wire.v1.GatewayGrpc;
import io.edgesplit.wire.v1.Hop;
import io.edgesplit.wire.v1.Route;
import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StepRequest;
import io.edgesplit.wire.v1.StepResult;
import io.edgesplit.wire.v1.Tensor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Drives requests along a route: sends the graph inputs to the first hop and completes the
 * request when the last hop delivers its result here. Activations go worker to worker; only the
 * inputs and the result touch the gateway.
 */
public final class Gateway implements AutoCloseable {

    /**
     * A hop of a route: a worker at an address in a zone runs blocks first..last; {@code linkIn}
     * emulates the link into it (null: the real network only).
     */
    public record HopSpec(String node, String address, String zone, int firstBlock, int lastBlock, LinkSpec linkIn) {
        public HopSpec {
            Objects.requireNonNull(node, "node == null");
            Objects.requireNonNull(address, "address == null");
            Objects.requireNonNull(zone, "zone == null");
        }

        public HopSpec(String node, String address, String zone, int firstBlock, int lastBlock) {
            this(node, address, zone, firstBlock, lastBlock, null);
        }
    }

    /** An emulated link (EMULATED): bandwidth in bytes/s and one-way latency. */
    public record LinkSpec(double bandwidthBytesPerS, double latencyMs) {
        EmulatedLink wire() {
            return EmulatedLink.newBuilder().setBandwidthBytesPerS(bandwidthBytesPerS).setLatencyMs(latencyMs).build();
        }
    }

    /** A request's privacy class and the zones it allows (empty: any). */
    public record Privacy(String className, List<String> allowedZones) {
        public static final Privacy NONE = new Privacy("", List.of());

        public Privacy {
            allowedZones = List.copyOf(allowedZones);
        }
    }

    private static final String CLASS_TAG = "#class=";

    /**
     * The name workers hold a privacy class's own route of {@code model} under: its ranges, KV caches
     * and plan epochs are kept apart from the serving plan's, so that each route switches on its own.
     */
    public static String classKey(String model, String privacyClass) {
        return model + CLASS_TAG + privacyClass;
    }

    /** The model a name workers hold ranges under stands for: itself, or the model of a {@linkplain #classKey class route}. */
    public static String modelOf(String key) {
        int i = key.lastIndexOf(CLASS_TAG);
        return i < 0 ? key : key.substring(0, i);
    }

    private final Server server;
    private final Peers peers;
    private final String host;
    private final Map<String, CompletableFuture<StepResult>> pending = new ConcurrentHashMap<>();
    private final StreamLane.Incoming incoming = new StreamLane.Incoming();
    /** Model files workers may fetch, by SHA-256; and each published model's hash, by its name. */
    private final Map<String, Path> published = new ConcurrentHashMap<>();
    private final Map<String, String> hashes = new ConcurrentHashMap<>();
    /** EMULATED links from the gateway to nodes, by node name; they win over a hop's own. */
    private final Map<String, LinkSpec> emulatedLinks = new ConcurrentHashMap<>();

    private Gateway(Server server, Peers peers, String host) {
        this.server = server;
        this.peers = peers;
        this.host = host;
    }

    /** Starts the gateway's delivery endpoint on {@code port} (0: any), reachable at {@code host}. */
    public static Gateway start(String host, int port) {
        Peers peers = new Peers();
        Gateway[] self = new Gateway[1];
        GatewayGrpc.GatewayImplBase service = new GatewayGrpc.GatewayImplBase() {
            @Override
            public void ping(io.edgesplit.wire.v1.PingRequest req, StreamObserver<StepAck> reply) {
                reply.onNext(StepAck.getDefaultInstance());
                reply.onCompleted();
            }

            @Override
            public void deliver(StepResult result, StreamObserver<StepAck> reply) {
                CompletableFuture<StepResult> f = self[0].pending.remove(key(result.getRequestId(), result.getStep()));
                // acknowledge first: what completing runs (sampling, the next step) is not the link's time
                reply.onNext(StepAck.getDefaultInstance());
                reply.onCompleted();
                if (f != null) {
                    f.complete(result);
                }
            }

            @Override
            public void fetch(io.edgesplit.wire.v1.FetchRequest req, StreamObserver<io.edgesplit.wire.v1.FileChunk> reply) {
                Path file = self[0].published.get(req.getSha256());
                if (file == null) {
                    reply.onError(io.grpc.Status.NOT_FOUND.withDescription("no model with SHA-256 " + req.getSha256()
                            + " is published here").asRuntimeException());
                    return;
                }
                FileSender.send(file, req.getOffset(), (io.grpc.stub.ServerCallStreamObserver<io.edgesplit.wire.v1.FileChunk>) reply);
            }

            @Override
            public StreamObserver<StepResult> results(StreamObserver<io.edgesplit.wire.v1.StreamAck> answers) {
                return self[0].incoming.accept(this::deliver, answers);
            }

            @Override
            public StreamObserver<io.edgesplit.wire.v1.ResultPart> deliverStream(StreamObserver<StepAck> reply) {
                return Senders.receiver(p -> p.hasResult() ? p.getResult() : null, io.edgesplit.wire.v1.ResultPart::getChunk,
                        StepResult::getTensorsList, (m, tensors) -> m.toBuilder().clearTensors().addAllTensors(tensors).build(),
                        whole -> deliver(whole, reply), reply);
            }
        };
        try {
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress(port)).addService(service).directExecutor()
                    .maxInboundMessageSize(512 << 20).build().start();
            self[0] = new Gateway(server, peers, host);
            return self[0];
        } catch (IOException e) {
            peers.close();
            throw new EdgeSplitException(ErrorCode.IO_FAILED, "gateway cannot listen on port " + port + ": " + e.getMessage(), e);
        }
    }

    public String address() {
        return host + ":" + server.getPort();
    }

    public Peers peers() {
        return peers;
    }

    private static String key(String requestId, long step) {
        return requestId + "#" + step;
    }

    /**
     * Sends one step of a request along the route. The future completes with the last hop's
     * tensors, or exceptionally with the failing node's categorized error.
     */
    public CompletableFuture<Map<String, Tensor>> submit(String model, long epoch, List<HopSpec> hops, String requestId,
            String sequenceId, long step, Privacy privacy, Map<String, OnnxTensor> inputs, long deadlineUnixMs) {
        return submit(model, epoch, hops, null, requestId, sequenceId, step, privacy, inputs, deadlineUnixMs);
    }

    /** As above, with the link from the last hop back here emulated ({@code linkBack}, null: real only). */
    public CompletableFuture<Map<String, Tensor>> submit(String model, long epoch, List<HopSpec> hops, LinkSpec linkBack,
            String requestId, String sequenceId, long step, Privacy privacy, Map<String, OnnxTensor> inputs,
            long deadlineUnixMs) {
        return submit(model, epoch, hops, linkBack, requestId, sequenceId, step, privacy, inputs, deadlineUnixMs, false);
    }

    /** As above; {@code lastPositionOnly}: the last hop returns only each output's last position (generation). */
    public CompletableFuture<Map<String, Tensor>> submit(String model, long epoch, List<HopSpec> hops, LinkSpec linkBack,
            String requestId, String sequenceId, long step, Privacy privacy, Map<String, OnnxTensor> inputs,
            long deadlineUnixMs, boolean lastPositionOnly) {
        Route.Builder route = Route.newBuilder().setEpoch(epoch).setGatewayAddress(address());
        if (linkBack != null) {
            route.setLinkBack(linkBack.wire());
        }
        for (HopSpec h : hops) {
            Hop.Builder hop = Hop.newBuilder().setNode(h.node()).setAddress(h.address()).setZone(h.zone())
                    .setFirstBlock(h.firstBlock()).setLastBlock(h.lastBlock());
            if (h.linkIn() != null) {
                hop.setLinkIn(h.linkIn().wire());
            }
            route.addHops(hop);
        }
        StepRequest.Builder req = StepRequest.newBuilder().setRequestId(requestId).setSequenceId(sequenceId == null ? "" : sequenceId)
                .setStep(step).setPrivacyClass(privacy.className()).addAllAllowedZones(privacy.allowedZones())
                .setRoute(route).setHopIndex(0).setModel(model).setDeadlineUnixMs(deadlineUnixMs)
                .setLastPositionOnly(lastPositionOnly);
        inputs.forEach((name, t) -> req.addTensors(TensorCodec.encode(name, t)));
        CompletableFuture<StepResult> done = new CompletableFuture<>();
        String key = key(requestId, step);
        pending.put(key, done);
        HopSpec first = hops.getFirst();
        if (!privacy.allowedZones().isEmpty() && !privacy.allowedZones().contains(first.zone())) {
            pending.remove(key);
            return CompletableFuture.failedFuture(new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "privacy class '"
                    + privacy.className() + "' may not go to node " + first.node() + " in zone '" + first.zone() + "'"));
        }
        StepRequest request = req.build();
        LinkSpec emulated = emulatedLinks.get(first.node());
        peers.links().send(first.address(), emulated != null ? emulated.wire() : request.getRoute().getHops(0).getLinkIn(),
                request.getSerializedSize(),
                () -> Senders.step(peers, first.address(), request, new StreamObserver<>() {
            @Override
            public void onNext(StepAck value) {}

            @Override
            public void onError(Throwable t) {
                pending.remove(key);
                Status s = Status.fromThrowable(t);
                done.completeExceptionally(new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "node " + first.node()
                        + " refused the step: " + s.getCode() + " " + s.getDescription()));
            }

            @Override
            public void onCompleted() {}
        }));
        return done.thenApply(r -> {
            if (!r.getErrorCode().isEmpty()) {
                throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "node " + r.getFailedNode() + " failed the step: "
                        + r.getErrorCode() + " " + r.getErrorMessage());
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            r.getTensorsList().forEach(t -> out.put(t.getName(), t));
            return out;
        });
    }

    /**
     * Emulates the link from the gateway to {@code node} (EMULATED): every request sent to it is
     * delayed by latency + bytes / bandwidth. Null removes the emulation.
     */
    public void emulateLink(String node, LinkSpec link) {
        if (link == null) {
            emulatedLinks.remove(node);
        } else {
            emulatedLinks.put(node, link);
        }
    }

    /**
     * Emulates the link from the worker at {@code address} to {@code peer} (a node name, or
     * "gateway"), on that worker (EMULATED). Null removes the emulation.
     */
    public void emulateLink(String address, String peer, LinkSpec link) {
        peers.workerBlocking(address).withDeadlineAfter(10, TimeUnit.SECONDS).setEmulatedLink(
                io.edgesplit.wire.v1.EmulatedLinkSetting.newBuilder().setPeer(peer)
                        .setLink(link == null ? EmulatedLink.getDefaultInstance() : link.wire()).build());
    }

    /** Decodes a result tensor; the caller closes it. */
    public static OnnxTensor decode(OrtEnvironment env, Tensor t) {
        return TensorCodec.decode(env, t);
    }

    /**
     * Gives up on a request: its pending steps fail with CANCELLED at once, and every hop drops
     * whatever of it is still queued or not yet forwarded.
     */
    public void cancel(List<HopSpec> hops, String requestId) {
        pending.entrySet().removeIf(e -> {
            if (e.getKey().startsWith(requestId + "#")) {
                e.getValue().completeExceptionally(new EdgeSplitException(ErrorCode.INVALID_ARGUMENT,
                        "request " + requestId + " was cancelled"));
                return true;
            }
            return false;
        });
        var req = io.edgesplit.wire.v1.CancelRequest.newBuilder().setRequestId(requestId).build();
        for (HopSpec h : hops) {
            peers.worker(h.address()).cancel(req, Peers.ignore());
        }
    }

    /**
     * Has the worker at {@code address} load blocks first..last of {@code model} for plan {@code epoch}
     * and returns the hop to put in routes (named as the worker names itself). Loading cuts and
     * opens the blocks, so it may take minutes for large models.
     */
    public HopSpec load(String address, String zone, String model, int first, int last, long epoch, LinkSpec linkIn) {
        return new HopSpec(loadReply(address, model, first, last, epoch).getNode(), address, zone, first, last, linkIn);
    }

    /**
     * As {@link #load}, with the worker's reply. A model {@linkplain #publish published} here goes by
     * its content hash: the worker takes it from its store, or fetches it from this gateway first.
     */
    public io.edgesplit.wire.v1.LoadReply loadReply(String address, String model, int first, int last, long epoch) {
        var req = io.edgesplit.wire.v1.LoadRequest.newBuilder().setModel(model).setFirstBlock(first).setLastBlock(last)
                .setEpoch(epoch);
        String sha = hashes.get(modelOf(model));
        if (sha != null) {
            req.setModelSha256(sha).setSourceAddress(address());
        }
        return peers.workerBlocking(address).withDeadlineAfter(10, TimeUnit.MINUTES).load(req.build());
    }

    /**
     * Lets workers fetch {@code file} as model {@code model} by its SHA-256, so that they need not
     * have it themselves. Returns the hash.
     */
    public String publish(String model, Path file) {
        String sha = ModelStore.sha256(file);
        published.put(sha, file);
        hashes.put(model, sha);
        return sha;
    }

    /** Has the hop's worker drop the hop's blocks. */
    public void unload(HopSpec hop, String model) {
        unload(hop, model, 0);
    }

    /**
     * As {@link #unload(HopSpec, String)}, decided at plan {@code epoch}: a worker that loaded the
     * range again since, for a newer epoch, keeps it (0: unconditionally).
     */
    public void unload(HopSpec hop, String model, long epoch) {
        peers.workerBlocking(hop.address()).withDeadlineAfter(1, TimeUnit.MINUTES).unload(
                io.edgesplit.wire.v1.LoadRequest.newBuilder().setModel(model).setFirstBlock(hop.firstBlock())
                        .setLastBlock(hop.lastBlock()).setEpoch(epoch).build());
    }

    /** From now on the worker refuses steps of {@code model} older than {@code epoch}. */
    public void fence(String address, String model, long epoch) {
        peers.workerBlocking(address).withDeadlineAfter(10, TimeUnit.SECONDS).fence(
                io.edgesplit.wire.v1.FenceRequest.newBuilder().setModel(model).setEpoch(epoch).build());
    }

    /**
     * Has the worker of {@code from} send the KV caches of blocks first..last of these sequences
     * straight to {@code to}'s worker, into {@code to}'s range; completes when {@code to} holds them.
     */
    public CompletableFuture<io.edgesplit.wire.v1.MoveKvReply> moveKv(String model, HopSpec from, HopSpec to, int first,
            int last, List<io.edgesplit.wire.v1.KvSequence> sequences) {
        Hop.Builder target = Hop.newBuilder().setNode(to.node()).setAddress(to.address()).setZone(to.zone())
                .setFirstBlock(to.firstBlock()).setLastBlock(to.lastBlock());
        if (to.linkIn() != null) {
            target.setLinkIn(to.linkIn().wire());
        }
        CompletableFuture<io.edgesplit.wire.v1.MoveKvReply> done = new CompletableFuture<>();
        peers.worker(from.address()).withDeadlineAfter(5, TimeUnit.MINUTES).moveKv(io.edgesplit.wire.v1.MoveKvRequest.newBuilder()
                .setModel(model).setFirstBlock(first).setLastBlock(last).setRangeFirst(from.firstBlock())
                .setRangeLast(from.lastBlock()).setTarget(target).addAllSequences(sequences).build(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(io.edgesplit.wire.v1.MoveKvReply value) {
                        done.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        Status s = Status.fromThrowable(t);
                        done.completeExceptionally(new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "moving KV caches of blocks "
                                + first + "-" + last + " from " + from.node() + " to " + to.node() + " failed: " + s.getCode()
                                + " " + s.getDescription()));
                    }

                    @Override
                    public void onCompleted() {}
                });
        return done;
    }

    /** The worker's telemetry, now. */
    public io.edgesplit.wire.v1.Telemetry telemetry(String address) {
        return peers.workerBlocking(address).withDeadlineAfter(30, TimeUnit.SECONDS)
                .getTelemetry(io.edgesplit.wire.v1.TelemetryRequest.getDefaultInstance());
    }

    /** Tells every hop's worker to drop a sequence's KV caches. */
    public void endSequence(List<HopSpec> hops, String sequenceId) {
        for (HopSpec h : hops) {
            peers.workerBlocking(h.address()).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .endSequence(io.edgesplit.wire.v1.EndSequenceRequest.newBuilder().setSequenceId(sequenceId).build());
        }
    }

    @Override
    public void close() {
        incoming.closeAll();
        server.shutdownNow();
        peers.close();
        pending.values().forEach(f -> f.completeExceptionally(new EdgeSplitException(ErrorCode.IO_FAILED, "gateway closed")));
    }
}
