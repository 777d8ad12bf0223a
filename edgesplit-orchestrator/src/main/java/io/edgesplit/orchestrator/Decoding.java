package io.edgesplit.orchestrator;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.generate.Sampler;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.worker.Gateway;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Generative sequences decoded through workers along the current route, many at once, each step
 * sent when the previous one's logits come back (no thread waits on a step). Every sequence keeps
 * its token log, so it can be replayed on another route when its KV caches are lost.
 *
 * <p>Route switches happen at token boundaries: {@link #pause} holds every sequence once its step
 * in flight is back; {@link #resume} lets them go on along the new route, each from where it was
 * (its caches moved), or replayed from its log. A failed or timed-out step holds its sequence and
 * tells the {@link Listener}; it waits for a resume that replays it, so nothing is lost and no
 * token is emitted twice.
 */
public final class Decoding implements Traffic, AutoCloseable {

    /** Where steps go: a plan epoch and its hops in order. */
    public record Route(long epoch, List<Gateway.HopSpec> hops, Gateway.LinkSpec linkBack) {
        public Route {
            hops = List.copyOf(hops);
        }

        public Route(long epoch, List<Gateway.HopSpec> hops) {
            this(epoch, hops, null);
        }
    }

    /** Told when a step of a sequence failed or timed out; the sequence is held until a resume replays it. */
    @FunctionalInterface
    public interface Listener {
        void stepFailed(String sequenceId, String node, String error);
    }

    /** Receives each token of a sequence as soon as it is chosen, once. */
    @FunctionalInterface
    public interface TokenSink {
        void accept(String sequenceId, int token);
    }

    public record Request(String id, int[] prompt, Sampling sampling, int maxTokens, Set<Integer> stops,
            Gateway.Privacy privacy) {
        public Request {
            Objects.requireNonNull(id, "id == null");
            prompt = prompt.clone();
            if (prompt.length == 0) {
                throw EdgeSplitException.invalidArgument("the prompt has no tokens (not even BOS)");
            }
            if (maxTokens < 0) {
                throw EdgeSplitException.invalidArgument("max tokens must be >= 0: " + maxTokens);
            }
            stops = Set.copyOf(stops);
            privacy = privacy == null ? Gateway.Privacy.NONE : privacy;
        }
    }

    /** @param replays how many times the sequence was replayed from its log */
    public record Result(String id, int[] tokens, String finishReason, int replays) {}

    /** A sequence that fails this many times after being replayed fails for good (the failure is not the route's). */
    static final int MAX_REPLAYS = 5;
    /** Longest warm-up request, in tokens. */
    static final int WARMUP_TOKENS = 512;

    private final Gateway gateway;
    private final String model;
    private final DecodeInputs inputs;
    private final String logits;
    private final int context;
    private final Duration stepTimeout;
    private final ExecutorService callbacks = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Seq> active = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private volatile Route route;
    private volatile Listener listener = (s, n, e) -> { };
    private volatile TokenSink sink = (s, t) -> { };
    // guarded by lock
    private boolean holding;
    private CompletableFuture<Void> allHeld;
    private long maxStallNanos;
    private final LongAdder hopRuns = new LongAdder();
    private final LongAdder warmUpHopRuns = new LongAdder();
    private final LongAdder steps = new LongAdder();
    private final LongAdder replayedSteps = new LongAdder();
    private final LongAdder replayMismatches = new LongAdder();
    private final AtomicLong attempts = new AtomicLong();

    public Decoding(Gateway gateway, String model, AnalyzedModel am, Route route, Duration stepTimeout) {
        this.gateway = Objects.requireNonNull(gateway, "gateway == null");
        this.model = Objects.requireNonNull(model, "model == null");
        this.inputs = new DecodeInputs(am.index(), am.state());
        this.logits = EquivalenceVerifier.logitsOutput(am);
        this.context = am.model().contextLength();
        this.route = Objects.requireNonNull(route, "route == null");
        this.stepTimeout = stepTimeout;
    }

    @Override
    public void listener(Listener l) {
        listener = Objects.requireNonNull(l);
    }

    public void sink(TokenSink s) {
        sink = Objects.requireNonNull(s);
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public Route route() {
        return route;
    }

    private final class Seq {
        final Request request;
        final CompletableFuture<Result> done = new CompletableFuture<>();
        /** Generated tokens, in order; never shrinks. */
        final List<Integer> log = new ArrayList<>();
        Sampler sampler;
        /** Tokens produced in the current pass: below log.size() while replaying. */
        int produced;
        long past;
        long step;
        String requestId;
        int replays;
        boolean parked;
        boolean needsReplay;
        /** The route of the step in flight, or null. */
        volatile Route inFlight;
        long parkedAt;

        Seq(Request request) {
            this.request = request;
            this.sampler = new Sampler(request.sampling());
            this.requestId = newRequestId(request.id());
        }
    }

    private String newRequestId(String sequenceId) {
        return sequenceId + "/" + attempts.incrementAndGet();
    }

    /** Starts a sequence; the future completes with its tokens. */
    public CompletableFuture<Result> start(Request request) {
        if (request.prompt().length >= context) {
            return CompletableFuture.failedFuture(new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "the prompt has "
                    + request.prompt().length + " tokens but the model's context is " + context));
        }
        Seq s = new Seq(request);
        if (active.putIfAbsent(request.id(), s) != null) {
            return CompletableFuture.failedFuture(EdgeSplitException.invalidArgument("sequence " + request.id()
                    + " is already running"));
        }
        if (request.maxTokens() == 0) {
            finish(s, "length");
        } else {
            callbacks.execute(() -> advance(s));
        }
        return s.done;
    }

    private void advance(Seq s) {
        Route r;
        synchronized (lock) {
            if (holding || s.needsReplay) {
                park(s);
                return;
            }
            r = route;
        }
        long[] fresh;
        if (s.past == 0) {
            fresh = new long[s.request.prompt().length];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = s.request.prompt()[i];
            }
        } else {
            fresh = new long[] {s.log.get(s.produced - 1)};
        }
        Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), new long[][] {fresh}, s.past);
        CompletableFuture<Map<String, Tensor>> f;
        try {
            f = gateway.submit(model, r.epoch(), r.hops(), r.linkBack(), s.requestId, s.request.id(), s.step,
                    s.request.privacy(), in, stepTimeout == null ? 0 : System.currentTimeMillis() + stepTimeout.toMillis(), true);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
        if (stepTimeout != null) {
            f = f.orTimeout(stepTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        s.inFlight = r;
        f.whenCompleteAsync((out, err) -> {
            s.inFlight = null;
            stepped(s, r, fresh.length, out, err);
        }, callbacks);
    }

    private void stepped(Seq s, Route r, int fed, Map<String, Tensor> out, Throwable err) {
        if (err != null) {
            failed(s, r, err);
            return;
        }
        float[] row;
        try {
            row = lastRow(out.get(logits));
        } catch (RuntimeException e) {
            failed(s, r, e);
            return;
        }
        steps.increment();
        hopRuns.add(r.hops().size());
        s.step++;
        s.past += fed;
        int next = s.sampler.next(row, 0, row.length);
        if (s.produced < s.log.size()) {
            replayedSteps.increment();
            if (s.log.get(s.produced) != next) {
                replayMismatches.increment(); // the log wins: what was emitted stays emitted
            }
            s.produced++;
        } else {
            if (s.request.stops().contains(next)) {
                finish(s, "stop");
                return;
            }
            s.log.add(next);
            s.produced++;
            sink.accept(s.request.id(), next);
        }
        if (s.produced >= s.request.maxTokens() && s.produced == s.log.size()) {
            finish(s, "length");
        } else if (s.past >= context) {
            finish(s, "context");
        } else {
            advance(s);
        }
    }

    private void failed(Seq s, Route r, Throwable err) {
        Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
        String message = cause instanceof java.util.concurrent.TimeoutException
                ? "no result within " + stepTimeout.toMillis() + " ms" : String.valueOf(cause.getMessage());
        gateway.cancel(r.hops(), s.requestId); // forget the pending step; hops drop what is left of it
        if (s.replays >= MAX_REPLAYS) {
            active.remove(s.request.id());
            synchronized (lock) {
                checkHeld();
            }
            s.done.completeExceptionally(new EdgeSplitException(ErrorCode.RUNTIME_FAILED, "sequence " + s.request.id()
                    + " failed after " + s.replays + " replays: " + message));
            return;
        }
        synchronized (lock) {
            s.needsReplay = true;
            park(s);
        }
        listener.stepFailed(s.request.id(), failedNode(message, r), message);
    }

    /** The node a failure message names ("node X ..."), or the route's first hop. */
    private static String failedNode(String message, Route r) {
        for (Gateway.HopSpec h : r.hops()) {
            if (message.contains("node " + h.node() + " ")) {
                return h.node();
            }
        }
        return "";
    }

    private void park(Seq s) {
        // lock held
        s.parked = true;
        s.parkedAt = System.nanoTime();
        checkHeld();
    }

    private void checkHeld() {
        if (holding && allHeld != null && !allHeld.isDone()) {
            for (Seq s : active.values()) {
                if (!s.parked) {
                    return;
                }
            }
            allHeld.complete(null);
        }
    }

    private void finish(Seq s, String reason) {
        active.remove(s.request.id());
        Route r = route;
        try {
            gateway.endSequence(r.hops(), s.request.id());
        } catch (RuntimeException e) {
            // a hop is gone: its caches went with it, and idle expiry frees the rest
        }
        synchronized (lock) {
            checkHeld();
        }
        s.done.complete(new Result(s.request.id(), s.log.stream().mapToInt(Integer::intValue).toArray(), reason, s.replays));
    }

    /** Holds every sequence at its next token boundary; completes when all are held. */
    @Override
    public CompletableFuture<Void> pause() {
        synchronized (lock) {
            holding = true;
            allHeld = new CompletableFuture<>();
            checkHeld();
            return allHeld;
        }
    }

    /** The running sequences and the privacy of each (for moving their caches). */
    @Override
    public Map<String, Gateway.Privacy> sequences() {
        Map<String, Gateway.Privacy> out = new java.util.TreeMap<>();
        active.forEach((id, s) -> out.put(id, s.request.privacy()));
        return out;
    }

    /** Sequences held because a step failed: their caches must be rebuilt by replay. */
    @Override
    public Set<String> failedSequences() {
        Set<String> out = new java.util.TreeSet<>();
        active.forEach((id, s) -> {
            if (s.needsReplay) {
                out.add(id);
            }
        });
        return out;
    }

    /**
     * Lets the held sequences go on along {@code next}. Sequences whose caches were lost (a failed
     * step) and, with {@code replayAll}, every sequence, are first replayed from their token logs:
     * their caches on the new route are dropped, and they run their steps again from the prompt,
     * emitting nothing until they pass the end of their log.
     */
    @Override
    public void resume(Route next, boolean replayAll) {
        List<Seq> go = new ArrayList<>();
        synchronized (lock) {
            route = next;
            holding = false;
            allHeld = null;
            long now = System.nanoTime();
            for (Seq s : active.values()) {
                if (s.parked) {
                    s.parked = false;
                    maxStallNanos = Math.max(maxStallNanos, now - s.parkedAt);
                    if (replayAll || s.needsReplay) {
                        s.needsReplay = false;
                        s.replays++;
                        s.past = 0;
                        s.produced = 0;
                        s.sampler = new Sampler(s.request.sampling());
                        s.requestId = newRequestId(s.request.id());
                        s.step = 0; // step 0 tells every hop to start the sequence's caches afresh
                    }
                    go.add(s);
                }
            }
        }
        for (Seq s : go) {
            callbacks.execute(() -> {
                if (s.past == 0 && s.replays > 0) {
                    try {
                        gateway.endSequence(next.hops(), s.request.id());
                    } catch (RuntimeException e) {
                        failed(s, next, e);
                        return;
                    }
                }
                advance(s);
            });
        }
    }

    @Override
    public void failHeld(RuntimeException reason) {
        List<Seq> gone = new ArrayList<>();
        synchronized (lock) {
            for (Seq s : active.values()) {
                if (s.parked && s.needsReplay) {
                    gone.add(s);
                }
            }
            gone.forEach(s -> active.remove(s.request.id()));
            checkHeld();
        }
        gone.forEach(s -> s.done.completeExceptionally(reason));
    }

    @Override
    public void failInFlight(String reason) {
        for (Seq s : active.values()) {
            Route r = s.inFlight;
            if (r != null) {
                gateway.cancel(r.hops(), s.requestId); // its pending step fails at once, and it is held for replay
            }
        }
    }

    /** The longest a sequence was held at a token boundary so far, in ms. */
    @Override
    public double maxStallMs() {
        synchronized (lock) {
            return maxStallNanos / 1e6;
        }
    }

    /** Restarts {@link #maxStallMs}. */
    @Override
    public void resetStall() {
        synchronized (lock) {
            maxStallNanos = 0;
        }
    }

    @Override
    public CompletableFuture<Void> warmUp(List<Gateway.HopSpec> hops, long epoch) {
        long longest = 1;
        for (Seq s : active.values()) {
            longest = Math.max(longest, s.past + 1);
        }
        // a prefill as long as the longest sequence sizes the new ranges' buffers; capped, as it costs compute
        int tokens = (int) Math.min(Math.min(longest, WARMUP_TOKENS), context == Integer.MAX_VALUE ? longest : context - 1);
        long[] ids = new long[tokens];
        java.util.Arrays.fill(ids, 1);
        Map<String, OnnxTensor> in = inputs.step(OrtRuntime.get().env(), new long[][] {ids}, 0);
        String id = "warmup/" + attempts.incrementAndGet();
        try {
            // bounded like any step: a new range whose node dies after taking the warm-up must not hold the switch
            CompletableFuture<Map<String, Tensor>> f = gateway.submit(model, epoch, hops, null, id, null, 0, Gateway.Privacy.NONE,
                    in, stepTimeout == null ? 0 : System.currentTimeMillis() + stepTimeout.toMillis(), true);
            if (stepTimeout != null) {
                f = f.orTimeout(stepTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            return f.handle((out, err) -> {
                if (err != null) {
                    gateway.cancel(hops, id);
                    throw err instanceof java.util.concurrent.CompletionException c ? c
                            : new java.util.concurrent.CompletionException(err);
                }
                warmUpHopRuns.add(hops.size());
                return null;
            });
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public long completed() {
        return steps.sum();
    }

    /** Steps that completed (decode and replay). */
    public long steps() {
        return steps.sum();
    }

    /** Stage executions those steps needed: one per hop of the route each ran on. */
    public long hopRuns() {
        return hopRuns.sum();
    }

    /** Stage executions of warm-up requests that completed: one per hop of the route warmed up. */
    public long warmUpHopRuns() {
        return warmUpHopRuns.sum();
    }

    public long replayedSteps() {
        return replayedSteps.sum();
    }

    /** Replayed steps whose token differed from the log (0 when the workers are deterministic). */
    public long replayMismatches() {
        return replayMismatches.sum();
    }

    private static float[] lastRow(Tensor t) {
        if (t == null) {
            throw new EdgeSplitException(ErrorCode.INTERNAL, "the last hop returned no logits");
        }
        return io.edgesplit.worker.TensorCodec.lastRow(t); // checked (dtype, size, CRC) and read in place
    }

    @Override
    public void close() {
        callbacks.shutdownNow();
        active.values().forEach(s -> s.done.completeExceptionally(new EdgeSplitException(ErrorCode.IO_FAILED, "decoding closed")));
        active.clear();
    }
}
