package io.edgesplit.worker;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.ModelAnalyzer;
import io.edgesplit.onnx.load.LoadLimits;
import io.edgesplit.onnx.load.OnnxModelLoader;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StageResult;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.wire.v1.EndSequenceRequest;
import io.edgesplit.wire.v1.Hop;
import io.edgesplit.wire.v1.LoadReply;
import io.edgesplit.wire.v1.LoadRequest;
import io.edgesplit.wire.v1.PeerBytes;
import io.edgesplit.wire.v1.StepAck;
import io.edgesplit.wire.v1.StepRequest;
import io.edgesplit.wire.v1.StepResult;
import io.edgesplit.wire.v1.Telemetry;
import io.edgesplit.wire.v1.TelemetryRequest;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.wire.v1.WorkerGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A worker: runs the stages it has loaded and sends what each hands on straight to the next hop
 * of the request's route, or the result to the gateway. Steps wait in a bounded queue; a full
 * queue answers RESOURCE_EXHAUSTED at once. Steps of an older plan epoch than the worker has seen
 * are refused and counted; so are steps whose privacy class does not allow this node's zone, and
 * nothing is ever sent to a hop whose zone the class does not allow.
 *
 * <p>Threading: gRPC calls arrive on its transport threads (direct executor: one thread handoff
 * less per hop), which only check and queue; loading runs on a virtual thread; one executor
 * thread runs stages (ORT's intra-op pool parallelizes inside a step), so steps of one sequence
 * never run concurrently.
 */
public final class WorkerNode extends WorkerGrpc.WorkerImplBase implements AutoCloseable {
    private final String name;
    private final String zone;
    private final Peers peers;
    private final ThreadPoolExecutor executor;
    private final Map<String, AnalyzedModel> models = new ConcurrentHashMap<>();
    private final Map<String, LoadedStage> stages = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> epochs = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> sentBytes = new ConcurrentHashMap<>();
    private final LongAdder received = new LongAdder();
    private final Map<String, LongAdder> receivedFrom = new ConcurrentHashMap<>();
    private final LongAdder steps = new LongAdder();
    private final LongAdder rejectedFull = new LongAdder();
    private final LongAdder rejectedEpoch = new LongAdder();
    private final LongAdder rejectedPrivacy = new LongAdder();
    private final LongAdder computeNanos = new LongAdder();
    /** Sequences with KV caches here, and when each last ran a step (System.nanoTime). */
    private final Map<String, Long> sequences = new ConcurrentHashMap<>();
    private final LongAdder expired = new LongAdder();
    private final Map<String, Long> kvBytes = new ConcurrentHashMap<>();
    private final LongAdder rejectedKv = new LongAdder();
    private final Map<String, LinkRate> linkRates = new ConcurrentHashMap<>();
    /** Recently cancelled request ids, bounded: the oldest are forgotten first. */
    private final Map<String, Boolean> cancelled = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(64, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > 10_000;
                }
            });
    private final LongAdder dropped = new LongAdder();
    private final StreamLane.Incoming incoming = new StreamLane.Incoming();
    /** The input buffers of steps, used again from step to step (stage thread only). */
    private final DirectBuffers stepBuffers = new DirectBuffers();
    private final LongAdder kvMoved = new LongAdder();
    /** EMULATED links from here, by peer node name ("gateway" for the gateway); they win over a route's. */
    private final Map<String, io.edgesplit.wire.v1.EmulatedLink> emulatedLinks = new ConcurrentHashMap<>();

    /** A link's rate from real transfers, smoothed, and its newest large message. */
    private static final class LinkRate {
        /** Messages at least this large show the link's rate rather than its latency. */
        static final long LARGE_BYTES = 16 * 1024;
        private long transfers;
        private double ewma;
        private double lastMs;
        private long largeTransfers;
        private double lastLargeBytes;
        private double lastLargeMs;

        synchronized void record(long bytes, long nanos) {
            double rate = bytes / Math.max(nanos / 1e9, 1e-9);
            lastMs = nanos / 1e6;
            ewma = transfers == 0 ? rate : 0.8 * ewma + 0.2 * rate;
            transfers++;
            if (bytes >= LARGE_BYTES) {
                largeTransfers++;
                lastLargeBytes = bytes;
                lastLargeMs = lastMs;
            }
        }

        synchronized io.edgesplit.wire.v1.LinkRate wire(String peer) {
            return io.edgesplit.wire.v1.LinkRate.newBuilder().setPeer(peer).setTransfers(transfers)
                    .setBytesPerSEwma(ewma).setLastMs(lastMs)
                    .setLargeTransfers(largeTransfers).setLastLargeBytes(lastLargeBytes).setLastLargeMs(lastLargeMs).build();
        }
    }
    private volatile long kvBudget = Long.MAX_VALUE;
    private volatile ModelStore store;
    private volatile java.util.concurrent.ScheduledExecutorService sweeper;

    private final double speed;

    /**
     * @param queueCapacity steps that may wait; more are refused
     * @param speed 1 for this machine's speed; below 1 emulates a slower device (EMULATED): each
     *     stage keeps the worker busy compute / speed
     */
    public WorkerNode(String name, String zone, int queueCapacity, double speed, Peers peers) {
        if (!(speed > 0 && speed <= 1)) {
            throw EdgeSplitException.invalidArgument("emulated speed must be in (0, 1] (a machine cannot run faster than "
                    + "itself): " + speed);
        }
        this.name = name;
        this.zone = zone;
        this.speed = speed;
        this.peers = peers;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(Math.max(1, queueCapacity)),
                r -> Thread.ofPlatform().name("stage-" + name).daemon(true).unstarted(r), new ThreadPoolExecutor.AbortPolicy());
    }

    public String name() {
        return name;
    }

    @Override
    public void load(LoadRequest req, StreamObserver<LoadReply> reply) {
        // gRPC calls this on its transport thread: loading takes seconds, so it runs elsewhere
        Thread.ofPlatform().daemon(true).name("load-" + name).start(() -> doLoad(req, reply)); // native work: it would pin a virtual thread's carrier
    }

    private void doLoad(LoadRequest req, StreamObserver<LoadReply> reply) {
        try {
            long t0 = System.nanoTime();
            long fetched = 0;
            String model = Gateway.modelOf(req.getModel()); // a class route's ranges come from its model
            String source = model;
            if (!req.getModelSha256().isEmpty()) {
                ModelStore.Stored stored = store().get(req.getModelSha256(), req.getSourceAddress(), peers);
                fetched = stored.fetchedBytes();
                source = stored.file().toString();
            }
            String ref = source;
            AnalyzedModel am = models.computeIfAbsent(model, m -> ModelAnalyzer.analyze(
                    new OnnxModelLoader(LoadLimits.defaults()).load(ref), ModelAnalyzer.Options.defaults()));
            if (req.getFirstBlock() < 0 || req.getLastBlock() >= am.blockCount() || req.getFirstBlock() > req.getLastBlock()) {
                throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.INVALID_RANGES, "blocks " + req.getFirstBlock()
                        + "-" + req.getLastBlock() + " do not exist; " + req.getModel() + " has blocks 0-" + (am.blockCount() - 1));
            }
            String key = LoadedStage.key(req.getModel(), req.getFirstBlock(), req.getLastBlock());
            LoadedStage s = stages.compute(key, (k, v) -> {
                LoadedStage st = v != null ? v : LoadedStage.load(req.getModel(), am, new BlockRange(req.getFirstBlock(),
                        req.getLastBlock()));
                st.epoch.accumulateAndGet(req.getEpoch(), Math::max); // the newest epoch it is loaded for
                return st;
            });
            epochs.computeIfAbsent(req.getModel(), m -> new AtomicLong()); // loading ahead of a switch fences nothing off
            reply.onNext(LoadReply.newBuilder().setNode(name).setFirstBlock(s.range.first()).setLastBlock(s.range.last())
                    .setWeightBytes(s.weightBytes).setLoadMs((System.nanoTime() - t0) / 1e6).setFetchedBytes(fetched)
                    .setFromStore(!req.getModelSha256().isEmpty() && fetched == 0).build());
            reply.onCompleted();
        } catch (RuntimeException e) {
            reply.onError(Statuses.of(e).asRuntimeException());
        } catch (OutOfMemoryError e) {
            models.remove(Gateway.modelOf(req.getModel()));
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + " ran out of memory loading blocks "
                    + req.getFirstBlock() + "-" + req.getLastBlock() + " of " + req.getModel() + "; give it more heap (-Xmx)")
                    .asRuntimeException());
        }
    }

    @Override
    public void unload(LoadRequest req, StreamObserver<LoadReply> reply) {
        // behind queued steps, so no step of the range is cut off mid-run
        try {
            executor.execute(() -> {
                String key = LoadedStage.key(req.getModel(), req.getFirstBlock(), req.getLastBlock());
                // an unload decided at an older epoch does not free a range loaded again since for a newer one
                LoadedStage[] gone = new LoadedStage[1];
                stages.computeIfPresent(key, (k, v) -> {
                    if (req.getEpoch() > 0 && v.epoch.get() > req.getEpoch()) {
                        return v;
                    }
                    gone[0] = v;
                    return null;
                });
                LoadedStage s = gone[0];
                if (s != null) {
                    s.close();
                }
                reply.onNext(LoadReply.newBuilder().setNode(name).setFirstBlock(req.getFirstBlock())
                        .setLastBlock(req.getLastBlock()).setWeightBytes(s == null ? 0 : s.weightBytes).build());
                reply.onCompleted();
            });
        } catch (RejectedExecutionException e) {
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": queue is full").asRuntimeException());
        }
    }

    @Override
    public StreamObserver<io.edgesplit.wire.v1.StepPart> stepStream(StreamObserver<StepAck> reply) {
        return Senders.receiver(p -> p.hasRequest() ? p.getRequest() : null, io.edgesplit.wire.v1.StepPart::getChunk,
                StepRequest::getTensorsList, (m, tensors) -> m.toBuilder().clearTensors().addAllTensors(tensors).build(),
                whole -> step(whole, reply), reply);
    }

    @Override
    public StreamObserver<StepRequest> steps(StreamObserver<io.edgesplit.wire.v1.StreamAck> answers) {
        return incoming.accept(this::step, answers);
    }

    /** Ends the streams of steps peers opened here (at shutdown, so that it need not wait for them). */
    void endStreams() {
        incoming.closeAll();
    }

    @Override
    public void step(StepRequest req, StreamObserver<StepAck> reply) {
        received.add(req.getSerializedSize());
        if (req.getHopIndex() >= 0 && req.getHopIndex() < req.getRoute().getHopsCount()) {
            String from = req.getHopIndex() == 0 ? "gateway" : req.getRoute().getHops(req.getHopIndex() - 1).getNode();
            receivedFrom.computeIfAbsent(from, k -> new LongAdder()).add(req.getSerializedSize());
        }
        Status refused = check(req);
        if (refused != null) {
            reply.onError(refused.asRuntimeException());
            return;
        }
        try {
            executor.execute(() -> run(req));
        } catch (RejectedExecutionException e) {
            rejectedFull.increment();
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": step queue is full ("
                    + executor.getQueue().size() + " waiting)").asRuntimeException());
            return;
        }
        reply.onNext(StepAck.getDefaultInstance());
        reply.onCompleted();
    }

    @Override
    public void fence(io.edgesplit.wire.v1.FenceRequest req, StreamObserver<StepAck> reply) {
        epochs.computeIfAbsent(req.getModel(), m -> new AtomicLong()).accumulateAndGet(req.getEpoch(), Math::max);
        reply.onNext(StepAck.getDefaultInstance());
        reply.onCompleted();
    }

    /**
     * Sends sequences' KV caches of some blocks straight to the worker that takes them over. The
     * caches are read on the stage thread between steps (so a sequence that goes on decoding is
     * read at a token boundary); the bytes go out from there without waiting for it.
     */
    @Override
    public void moveKv(io.edgesplit.wire.v1.MoveKvRequest req, StreamObserver<io.edgesplit.wire.v1.MoveKvReply> reply) {
        LoadedStage source = stages.get(LoadedStage.key(req.getModel(), req.getRangeFirst(), req.getRangeLast()));
        if (source == null || req.getFirstBlock() < req.getRangeFirst() || req.getLastBlock() > req.getRangeLast()) {
            reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + name + " has no range "
                    + req.getRangeFirst() + "-" + req.getRangeLast() + " of " + req.getModel() + " holding blocks "
                    + req.getFirstBlock() + "-" + req.getLastBlock()).asRuntimeException());
            return;
        }
        Hop to = req.getTarget();
        for (io.edgesplit.wire.v1.KvSequence seq : req.getSequencesList()) {
            if (!seq.getAllowedZonesList().isEmpty() && !seq.getAllowedZonesList().contains(to.getZone())) {
                rejectedPrivacy.increment();
                reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + name + " will not send the KV cache of "
                        + "privacy class '" + seq.getPrivacyClass() + "' to node " + to.getNode() + " in zone '" + to.getZone()
                        + "'").asRuntimeException());
                return;
            }
        }
        LoadedStage from = source;
        try {
            executor.execute(() -> sendKv(from, req, reply));
        } catch (RejectedExecutionException e) {
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": queue is full").asRuntimeException());
        }
    }

    private void sendKv(LoadedStage from, io.edgesplit.wire.v1.MoveKvRequest req,
            StreamObserver<io.edgesplit.wire.v1.MoveKvReply> reply) {
        long t0 = System.nanoTime();
        Hop to = req.getTarget();
        var answer = io.edgesplit.wire.v1.MoveKvReply.newBuilder();
        List<io.edgesplit.wire.v1.KvState> states = new java.util.ArrayList<>();
        try {
            for (io.edgesplit.wire.v1.KvSequence seq : req.getSequencesList()) {
                var state = io.edgesplit.wire.v1.KvState.newBuilder().setModel(req.getModel())
                        .setSequenceId(seq.getSequenceId()).setFirstBlock(to.getFirstBlock()).setLastBlock(to.getLastBlock())
                        .setFromPosition(seq.getFromPosition()).setPrivacyClass(seq.getPrivacyClass())
                        .addAllAllowedZones(seq.getAllowedZonesList());
                from.stage.exportKv(seq.getSequenceId(), seq.getFromPosition(), present -> {
                    Integer block = from.stateBlock.get(present);
                    return block != null && block >= req.getFirstBlock() && block <= req.getLastBlock();
                }, (present, t) -> state.addTensors(TensorCodec.encode(present, t)));
                var built = state.build();
                states.add(built);
                answer.addMoved(io.edgesplit.wire.v1.MovedKv.newBuilder().setSequenceId(seq.getSequenceId())
                        .setPositions(from.stage.kvPositions(seq.getSequenceId())).setBytes(built.getSerializedSize()));
            }
        } catch (RuntimeException e) {
            reply.onError(Statuses.of(e).asRuntimeException());
            return;
        }
        if (states.isEmpty()) {
            reply.onNext(answer.setMs((System.nanoTime() - t0) / 1e6).build());
            reply.onCompleted();
            return;
        }
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(states.size());
        java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
        for (io.edgesplit.wire.v1.KvState st : states) {
            long size = st.getSerializedSize();
            count(to.getNode(), st.getPrivacyClass(), size);
            kvMoved.add(size);
            peers.links().send(to.getAddress(), linkTo(to.getNode(), to.getLinkIn()), size,
                    () -> Senders.kv(peers.worker(to.getAddress()), st,
                    new StreamObserver<>() {
                        @Override
                        public void onNext(StepAck value) {}

                        @Override
                        public void onError(Throwable t) {
                            if (failed.compareAndSet(false, true)) {
                                Status s = Status.fromThrowable(t);
                                reply.onError(s.withDescription("node " + to.getNode() + " did not take the KV cache of "
                                        + st.getSequenceId() + ": " + s.getDescription()).asRuntimeException());
                            }
                        }

                        @Override
                        public void onCompleted() {
                            if (left.decrementAndGet() == 0 && !failed.get()) {
                                reply.onNext(answer.setMs((System.nanoTime() - t0) / 1e6).build());
                                reply.onCompleted();
                            }
                        }
                    }));
        }
    }

    @Override
    public StreamObserver<io.edgesplit.wire.v1.KvPart> importKv(StreamObserver<StepAck> reply) {
        return Senders.receiver(p -> p.hasState() ? p.getState() : null, io.edgesplit.wire.v1.KvPart::getChunk,
                io.edgesplit.wire.v1.KvState::getTensorsList,
                (m, tensors) -> m.toBuilder().clearTensors().addAllTensors(tensors).build(), whole -> takeKv(whole, reply), reply);
    }

    private void takeKv(io.edgesplit.wire.v1.KvState st, StreamObserver<StepAck> reply) {
        received.add(st.getSerializedSize());
        if (!st.getAllowedZonesList().isEmpty() && !st.getAllowedZonesList().contains(zone)) {
            rejectedPrivacy.increment();
            reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + name + " is in zone '" + zone
                    + "', which privacy class '" + st.getPrivacyClass() + "' does not allow").asRuntimeException());
            return;
        }
        LoadedStage s = stages.get(LoadedStage.key(st.getModel(), st.getFirstBlock(), st.getLastBlock()));
        if (s == null) {
            reply.onError(Status.FAILED_PRECONDITION.withDescription("worker " + name + " has not loaded blocks "
                    + st.getFirstBlock() + "-" + st.getLastBlock() + " of " + st.getModel()).asRuntimeException());
            return;
        }
        try {
            executor.execute(() -> {
                Map<String, OnnxTensor> tensors = new HashMap<>();
                try {
                    for (Tensor t : st.getTensorsList()) {
                        tensors.put(t.getName(), TensorCodec.decode(OrtRuntime.get().env(), t));
                    }
                    Map<String, OnnxTensor> owned = tensors;
                    tensors = Map.of();
                    s.stage.importKv(st.getSequenceId(), owned, st.getFromPosition());
                    sequences.put(st.getSequenceId(), System.nanoTime());
                    kvBytes.put(st.getSequenceId(), stagesKvBytes(st.getSequenceId()));
                    reply.onNext(StepAck.getDefaultInstance());
                    reply.onCompleted();
                } catch (RuntimeException e) {
                    tensors.values().forEach(OnnxTensor::close);
                    reply.onError(Statuses.of(e).asRuntimeException());
                }
            });
        } catch (RejectedExecutionException e) {
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": queue is full").asRuntimeException());
        }
    }

    private long stagesKvBytes(String sequenceId) {
        long total = 0;
        for (LoadedStage s : stages.values()) {
            total += s.stage.kvBytes(sequenceId);
        }
        return total;
    }

    @Override
    public void cancel(io.edgesplit.wire.v1.CancelRequest req, StreamObserver<StepAck> reply) {
        cancelled.put(req.getRequestId(), Boolean.TRUE);
        reply.onNext(StepAck.getDefaultInstance());
        reply.onCompleted();
    }

    /** Steps dropped because their request was cancelled. */
    public long cancelledSteps() {
        return dropped.sum();
    }

    /** Why a step is refused before it is queued, or null. */
    private Status check(StepRequest req) {
        if (cancelled.containsKey(req.getRequestId())) {
            dropped.increment();
            return Status.CANCELLED.withDescription("request " + req.getRequestId() + " was cancelled");
        }
        if (!req.getAllowedZonesList().isEmpty() && !req.getAllowedZonesList().contains(zone)) {
            rejectedPrivacy.increment();
            return Status.FAILED_PRECONDITION.withDescription("worker " + name + " is in zone '" + zone
                    + "', which privacy class '" + req.getPrivacyClass() + "' does not allow");
        }
        AtomicLong seen = epochs.computeIfAbsent(req.getModel(), m -> new AtomicLong());
        long epoch = req.getRoute().getEpoch();
        if (epoch < seen.get()) {
            rejectedEpoch.increment();
            return Status.INVALID_ARGUMENT.withDescription("worker " + name + ": step of plan epoch " + epoch
                    + " is older than epoch " + seen.get());
        }
        seen.accumulateAndGet(epoch, Math::max);
        if (req.getHopIndex() < 0 || req.getHopIndex() >= req.getRoute().getHopsCount()) {
            return Status.INVALID_ARGUMENT.withDescription("hop index " + req.getHopIndex() + " is not on the route");
        }
        if (!req.getSequenceId().isEmpty() && !sequences.containsKey(req.getSequenceId()) && kvInUse() >= kvBudget) {
            rejectedKv.increment();
            return Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": KV caches use " + kvInUse()
                    + " bytes of a budget of " + kvBudget + "; no room for a new sequence");
        }
        Hop hop = req.getRoute().getHops(req.getHopIndex());
        if (!stages.containsKey(LoadedStage.key(req.getModel(), hop.getFirstBlock(), hop.getLastBlock()))) {
            return Status.INVALID_ARGUMENT.withDescription("worker " + name + " has not loaded blocks "
                    + hop.getFirstBlock() + "-" + hop.getLastBlock() + " of " + req.getModel());
        }
        return null;
    }

    /** Runs a queued step; every failure becomes a result delivered to the gateway, so no request hangs. */
    private void run(StepRequest req) {
        Hop hop = req.getRoute().getHops(req.getHopIndex());
        try {
            if (cancelled.containsKey(req.getRequestId())) {
                dropped.increment();
                return; // the gateway has already given up on it
            }
            if (req.getDeadlineUnixMs() > 0 && System.currentTimeMillis() > req.getDeadlineUnixMs()) {
                throw new StepFailure(Status.DEADLINE_EXCEEDED, "deadline passed before worker " + name + " ran the step");
            }
            LoadedStage s = stages.get(LoadedStage.key(req.getModel(), hop.getFirstBlock(), hop.getLastBlock()));
            if (s == null) {
                throw new StepFailure(Status.FAILED_PRECONDITION, "worker " + name + " unloaded blocks " + hop.getFirstBlock()
                        + "-" + hop.getLastBlock() + " of " + req.getModel() + " while the step waited");
            }
            Map<String, OnnxTensor> inputs = new HashMap<>();
            java.util.List<Tensor> out = new java.util.ArrayList<>();
            java.util.List<DirectBuffers.Lease> leases = new java.util.ArrayList<>(req.getTensorsCount());
            try {
                ai.onnxruntime.OrtEnvironment env = OrtRuntime.get().env();
                for (Tensor t : req.getTensorsList()) {
                    inputs.put(t.getName(), TensorCodec.decode(env, t, n -> {
                        DirectBuffers.Lease lease = stepBuffers.take(n);
                        leases.add(lease);
                        return lease.buffer();
                    }));
                }
                StepContext ctx = req.getSequenceId().isEmpty() ? StepContext.stateless(batchOf(inputs))
                        : StepContext.sequence(req.getSequenceId(), batchOf(inputs));
                if (req.getStep() == 0 && !req.getSequenceId().isEmpty()) {
                    s.stage.endSequence(req.getSequenceId()); // a sequence starts afresh: nothing stale may feed it
                }
                if (!req.getSequenceId().isEmpty()) {
                    sequences.put(req.getSequenceId(), System.nanoTime());
                }
                long t0 = System.nanoTime();
                try (StageResult r = s.stage.run(ctx, inputs)) {
                    long compute = System.nanoTime() - t0;
                    if (speed < 1) {
                        emulateSlowerDevice(compute);
                    }
                    long busy = System.nanoTime() - t0; // compute, stretched when a slower device is emulated
                    computeNanos.add(busy);
                    s.runs.increment();
                    s.nanos.add(busy);
                    if (!req.getSequenceId().isEmpty()) {
                        kvBytes.put(req.getSequenceId(), stagesKvBytes(req.getSequenceId()));
                    }
                    boolean last = req.getHopIndex() + 1 == req.getRoute().getHopsCount();
                    for (Map.Entry<String, OnnxTensor> e : r.outputs().entrySet()) {
                        OnnxTensor t = e.getValue();
                        long[] shape = t.getInfo().getShape();
                        if (last && req.getLastPositionOnly() && shape.length >= 3 && shape[1] > 1) {
                            try (var row = io.edgesplit.onnx.runtime.KvTensors.from(t, shape[1] - 1, 1)) {
                                out.add(TensorCodec.encode(e.getKey(), row.tensor()));
                            }
                        } else {
                            out.add(TensorCodec.encode(e.getKey(), t));
                        }
                    }
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
                leases.forEach(stepBuffers::give); // the outputs were copied out above: nothing refers to them now
            }
            steps.increment();
            int next = req.getHopIndex() + 1;
            if (next == req.getRoute().getHopsCount()) {
                deliver(req, StepResult.newBuilder().setRequestId(req.getRequestId()).setStep(req.getStep())
                        .addAllTensors(out).build());
                return;
            }
            if (cancelled.containsKey(req.getRequestId())) {
                dropped.increment();
                return; // cancelled while it ran: do not hand it on
            }
            Hop to = req.getRoute().getHops(next);
            if (!req.getAllowedZonesList().isEmpty() && !req.getAllowedZonesList().contains(to.getZone())) {
                rejectedPrivacy.increment();
                throw new StepFailure(Status.FAILED_PRECONDITION, "worker " + name + " will not send privacy class '"
                        + req.getPrivacyClass() + "' to node " + to.getNode() + " in zone '" + to.getZone() + "'");
            }
            StepRequest forward = req.toBuilder().setHopIndex(next).clearTensors().addAllTensors(out).build();
            count(to.getNode(), req.getPrivacyClass(), forward.getSerializedSize());
            long size = forward.getSerializedSize();
            long sent = System.nanoTime(); // the link's time includes its emulated delay, as a real link's would
            peers.links().send(to.getAddress(), linkTo(to.getNode(), to.getLinkIn()), size, () -> {
                Senders.step(peers, to.getAddress(), forward, new StreamObserver<>() {
                @Override
                public void onNext(StepAck value) {
                    linkRates.computeIfAbsent(to.getNode(), k -> new LinkRate()).record(size, System.nanoTime() - sent);
                }

                @Override
                public void onError(Throwable t) {
                    Status st = Status.fromThrowable(t);
                    deliver(req, failure(req, st.getCode().name(), "next hop " + to.getNode() + " refused the step: "
                            + st.getDescription(), to.getNode()));
                }

                @Override
                public void onCompleted() {}
                });
            });
        } catch (StepFailure f) {
            deliver(req, failure(req, f.status.getCode().name(), f.getMessage(), name));
        } catch (RuntimeException e) {
            Status st = Statuses.of(e);
            deliver(req, failure(req, st.getCode().name(), st.getDescription(), name));
        } catch (OutOfMemoryError e) {
            deliver(req, failure(req, Status.Code.RESOURCE_EXHAUSTED.name(), "worker " + name + " ran out of memory: "
                    + e.getMessage(), name));
        } catch (Error e) {
            // the step fails, not the worker: its stage thread goes on with the next step
            deliver(req, failure(req, Status.Code.INTERNAL.name(), "worker " + name + ": " + e, name));
        }
    }

    private void emulateSlowerDevice(long computeNanos) {
        long extra = (long) (computeNanos * (1 / speed - 1));
        try {
            Thread.sleep(java.time.Duration.ofNanos(extra));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long batchOf(Map<String, OnnxTensor> inputs) {
        for (OnnxTensor t : inputs.values()) {
            long[] shape = t.getInfo().getShape();
            if (shape.length > 0) {
                return Math.max(1, shape[0]);
            }
        }
        return 1;
    }

    private static StepResult failure(StepRequest req, String code, String message, String node) {
        return StepResult.newBuilder().setRequestId(req.getRequestId()).setStep(req.getStep()).setErrorCode(code)
                .setErrorMessage(message == null ? "" : message).setFailedNode(node).build();
    }

    private void deliver(StepRequest req, StepResult result) {
        long size = result.getSerializedSize();
        count("gateway", req.getPrivacyClass(), size);
        String gateway = req.getRoute().getGatewayAddress();
        long sent = System.nanoTime();
        peers.links().send(gateway, linkTo("gateway", req.getRoute().getLinkBack()), size,
                () -> Senders.deliver(peers, gateway, result, new StreamObserver<>() {
                    @Override
                    public void onNext(StepAck value) {
                        linkRates.computeIfAbsent("gateway", k -> new LinkRate()).record(size, System.nanoTime() - sent);
                    }

                    @Override
                    public void onError(Throwable t) {
                        // the gateway is gone: nobody is waiting for this result any more
                    }

                    @Override
                    public void onCompleted() {}
                }));
    }

    /** The EMULATED link to a peer: this worker's setting for it, else the route's, else none. */
    private io.edgesplit.wire.v1.EmulatedLink linkTo(String peer, io.edgesplit.wire.v1.EmulatedLink fromRoute) {
        io.edgesplit.wire.v1.EmulatedLink mine = emulatedLinks.get(peer);
        return mine != null ? mine : fromRoute;
    }

    @Override
    public void setEmulatedLink(io.edgesplit.wire.v1.EmulatedLinkSetting req, StreamObserver<StepAck> reply) {
        if (!(req.getLink().getBandwidthBytesPerS() >= 0) || !(req.getLink().getLatencyMs() >= 0)) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription("an emulated link needs bandwidth and latency >= 0")
                    .asRuntimeException());
            return;
        }
        if (req.getLink().getBandwidthBytesPerS() == 0) {
            emulatedLinks.remove(req.getPeer());
        } else {
            emulatedLinks.put(req.getPeer(), req.getLink());
        }
        reply.onNext(StepAck.getDefaultInstance());
        reply.onCompleted();
    }

    @Override
    public void ping(io.edgesplit.wire.v1.PingRequest req, StreamObserver<StepAck> reply) {
        received.add(req.getSerializedSize());
        reply.onNext(StepAck.getDefaultInstance());
        reply.onCompleted();
    }

    @Override
    public void probe(io.edgesplit.wire.v1.ProbeRequest req, StreamObserver<io.edgesplit.wire.v1.ProbeReply> reply) {
        if (req.getBytes() < 0 || req.getBytes() > 16 << 20 || req.getAddress().isEmpty() || req.getPeer().isEmpty()) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription("a probe needs a peer, its address and 0..16 MiB")
                    .asRuntimeException());
            return;
        }
        var ping = io.edgesplit.wire.v1.PingRequest.newBuilder()
                .setPayload(com.google.protobuf.ByteString.copyFrom(new byte[req.getBytes()])).build();
        long size = ping.getSerializedSize();
        long sent = System.nanoTime();
        StreamObserver<StepAck> done = new StreamObserver<>() {
            @Override
            public void onNext(StepAck value) {
                long nanos = System.nanoTime() - sent;
                linkRates.computeIfAbsent(req.getPeer(), k -> new LinkRate()).record(size, nanos);
                reply.onNext(io.edgesplit.wire.v1.ProbeReply.newBuilder().setMs(nanos / 1e6).build());
                reply.onCompleted();
            }

            @Override
            public void onError(Throwable t) {
                reply.onError(Status.UNAVAILABLE.withDescription("probe to " + req.getPeer() + " failed: "
                        + Status.fromThrowable(t).getDescription()).asRuntimeException());
            }

            @Override
            public void onCompleted() {}
        };
        count(req.getPeer(), "probe", size);
        peers.links().send(req.getAddress(), linkTo(req.getPeer(), null), size, () -> {
            if (req.getPeer().equals("gateway")) {
                peers.gateway(req.getAddress()).ping(ping, done);
            } else {
                peers.worker(req.getAddress()).ping(ping, done);
            }
        });
    }

    @Override
    public void profile(io.edgesplit.wire.v1.ProfileRequest req, StreamObserver<io.edgesplit.wire.v1.ProfileReply> reply) {
        Thread.ofPlatform().daemon(true).name("profile-" + name).start(() -> {
            try {
                long t0 = System.nanoTime();
                AnalyzedModel am = models.computeIfAbsent(req.getModel(), ref -> ModelAnalyzer.analyze(
                        new OnnxModelLoader(LoadLimits.defaults()).load(ref), ModelAnalyzer.Options.defaults()));
                int threads = Math.max(1, OrtRuntime.get().intraOpThreads());
                int tokens = req.getTokens() > 0 ? req.getTokens() : 32;
                var options = new io.edgesplit.onnx.profile.BlockProfiler.Options(List.of(threads),
                        new io.edgesplit.onnx.graph.DimValues(1, tokens, 0, 64, 4, Map.of()), 2,
                        Math.max(1, req.getRepeats() > 0 ? req.getRepeats() : 7), java.util.Set.of());
                double[] ms = io.edgesplit.onnx.profile.BlockProfiler.profile(am, options, line -> { })
                        .profiles().getFirst().blockMs();
                var out = io.edgesplit.wire.v1.ProfileReply.newBuilder().setNode(name).setThreads(threads);
                for (double m : ms) {
                    out.addBlockMs(m / speed); // a stage here takes compute / speed (EMULATED when speed < 1)
                }
                reply.onNext(out.setProfileMs((System.nanoTime() - t0) / 1e6).build());
                reply.onCompleted();
            } catch (RuntimeException e) {
                reply.onError(Statuses.of(e).asRuntimeException());
            }
        });
    }

    private void count(String peer, String privacyClass, long bytes) {
        sentBytes.computeIfAbsent(peer + "\u0000" + privacyClass, k -> new LongAdder()).add(bytes);
    }

    @Override
    public void endSequence(EndSequenceRequest req, StreamObserver<StepAck> reply) {
        // queued behind the sequence's steps, so its KV cache is freed after its last step ran
        try {
            executor.execute(() -> dropSequence(req.getSequenceId()));
            reply.onNext(StepAck.getDefaultInstance());
            reply.onCompleted();
        } catch (RejectedExecutionException e) {
            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("worker " + name + ": queue is full").asRuntimeException());
        }
    }

    private void dropSequence(String id) {
        stages.values().forEach(s -> s.stage.endSequence(id));
        sequences.remove(id);
        kvBytes.remove(id);
    }

    /**
     * New sequences are refused (RESOURCE_EXHAUSTED) while the KV caches held here use this many
     * bytes or more; sequences already here go on, so no generation is cut off midway.
     */
    /** Where model files fetched by content hash are kept (by default a folder of its own per process). */
    public void store(java.nio.file.Path dir) {
        this.store = new ModelStore(dir);
    }

    private synchronized ModelStore store() {
        if (store == null) {
            try {
                store = new ModelStore(java.nio.file.Files.createTempDirectory("edgesplit-store-" + name));
            } catch (java.io.IOException e) {
                throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.IO_FAILED, "worker " + name
                        + " cannot make a model store: " + e.getMessage(), e);
            }
        }
        return store;
    }

    public void kvBudget(long bytes) {
        if (bytes < 0) {
            throw EdgeSplitException.invalidArgument("KV budget must be >= 0: " + bytes);
        }
        kvBudget = bytes;
    }

    /** Bytes of KV cache held for all sequences, as of their last steps. */
    public long kvInUse() {
        long total = 0;
        for (long b : kvBytes.values()) {
            total += b;
        }
        return total;
    }

    public long rejectedForKvBudget() {
        return rejectedKv.sum();
    }

    /**
     * Frees the KV caches of sequences that ran no step for {@code idle}: a client that vanished
     * without ending its sequence must not hold the worker's memory. Checked every idle / 4; the
     * eviction runs on the stage thread, after any queued step of the sequence. Calling it again
     * replaces the timeout.
     */
    public synchronized void expireIdleSequences(java.time.Duration idle) {
        long idleNanos = idle.toNanos();
        long period = Math.max(1, idleNanos / 4);
        var timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("kv-expiry-" + name).daemon(true).unstarted(r));
        timer.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            for (var e : sequences.entrySet()) {
                if (now - e.getValue() > idleNanos) {
                    String id = e.getKey();
                    try {
                        executor.execute(() -> {
                            Long last = sequences.get(id);
                            if (last != null && System.nanoTime() - last > idleNanos) {
                                dropSequence(id);
                                expired.increment();
                            }
                        });
                    } catch (RejectedExecutionException full) {
                        return; // busy: try again next period
                    }
                }
            }
        }, period, period, TimeUnit.NANOSECONDS);
        var previous = sweeper;
        sweeper = timer;
        if (previous != null) {
            previous.shutdownNow(); // a new timeout replaces the old one
        }
    }

    /** Sequences whose KV caches were freed for being idle. */
    public long expiredSequences() {
        return expired.sum();
    }

    @Override
    public void getTelemetry(TelemetryRequest req, StreamObserver<Telemetry> reply) {
        reply.onNext(telemetry());
        reply.onCompleted();
    }

    public Telemetry telemetry() {
        Telemetry.Builder t = Telemetry.newBuilder().setNode(name).setZone(zone).setQueueDepth(executor.getQueue().size())
                .setSteps(steps.sum()).setRejectedFull(rejectedFull.sum()).setRejectedEpoch(rejectedEpoch.sum())
                .setRejectedPrivacy(rejectedPrivacy.sum()).setSequences(sequences.size())
                .setBlockMsTotal(computeNanos.sum() / 1e6).setBytesReceived(received.sum())
                .setKvBytes(kvInUse()).setRejectedKvBudget(rejectedKv.sum());
        new java.util.TreeMap<>(linkRates).forEach((peer, rate) -> t.addLinks(rate.wire(peer)));
        t.setKvBytesMoved(kvMoved.sum());
        long weights = 0;
        for (LoadedStage s : stages.values()) {
            t.addLoaded(io.edgesplit.wire.v1.LoadedRange.newBuilder().setModel(s.model).setFirstBlock(s.range.first())
                    .setLastBlock(s.range.last()).setRuns(s.runs.sum()).setMsTotal(s.nanos.sum() / 1e6)
                    .setWeightBytes(s.weightBytes));
            weights += s.weightBytes;
        }
        t.setWeightBytesLoaded(weights);
        new java.util.TreeMap<>(receivedFrom).forEach((peer, bytes) -> t.addReceived(
                io.edgesplit.wire.v1.PeerReceived.newBuilder().setPeer(peer).setBytes(bytes.sum())));
        Runtime rt = Runtime.getRuntime();
        t.setHeapUsedBytes(rt.totalMemory() - rt.freeMemory());
        epochs.forEach((model, epoch) -> t.putEpochs(model, epoch.get()));
        t.setEmulatedSpeed(speed).addAllEmulatedLinksTo(new java.util.TreeSet<>(emulatedLinks.keySet()))
                .setEmulated(speed < 1 || !emulatedLinks.isEmpty());
        new java.util.TreeMap<>(sentBytes).forEach((k, v) -> {
            String[] parts = k.split("\u0000", -1);
            t.addSent(PeerBytes.newBuilder().setPeer(parts[0]).setPrivacyClass(parts[1]).setBytesSent(v.sum()));
        });
        return t.build();
    }

    @Override
    public void close() {
        endStreams();
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
        executor.shutdownNow();
        stages.values().forEach(LoadedStage::close);
        stages.clear();
    }

    /** A step that fails with a status of its own. */
    private static final class StepFailure extends RuntimeException {
        final Status status;

        StepFailure(Status status, String message) {
            super(message);
            this.status = status;
        }
    }
}
