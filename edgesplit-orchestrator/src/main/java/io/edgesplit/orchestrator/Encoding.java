package io.edgesplit.orchestrator;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.Tensor;
import io.edgesplit.worker.Gateway;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Stateless requests (encoders) along the current route. A route switch holds new requests until
 * the ones in flight are back, then sends them along the new route; a request whose step failed
 * (its node died) is held and sent again after the switch, so none is lost.
 */
public final class Encoding implements Traffic, AutoCloseable {
    private final Gateway gateway;
    private final String model;
    private final Duration timeout;
    private final Object lock = new Object();
    private final Map<Attempt, Decoding.Route> inFlight = new ConcurrentHashMap<>();
    // guarded by lock
    private Decoding.Route route;
    private boolean holding;
    private CompletableFuture<Void> allHeld;
    private final ArrayDeque<Attempt> held = new ArrayDeque<>();
    private long maxStallNanos;
    private long sequence;
    private final java.util.concurrent.atomic.LongAdder completed = new java.util.concurrent.atomic.LongAdder();
    private volatile Decoding.Listener listener = (s, n, e) -> { };

    /** One request; the caller keeps its inputs open until {@code done} completes. */
    private static final class Attempt {
        final String id;
        final Gateway.Privacy privacy;
        final Map<String, OnnxTensor> inputs;
        final CompletableFuture<Map<String, Tensor>> done = new CompletableFuture<>();
        long heldAt;
        int tries;

        Attempt(String id, Gateway.Privacy privacy, Map<String, OnnxTensor> inputs) {
            this.id = id;
            this.privacy = privacy;
            this.inputs = inputs;
        }
    }

    public Encoding(Gateway gateway, String model, Decoding.Route route, Duration timeout) {
        this.gateway = Objects.requireNonNull(gateway, "gateway == null");
        this.model = Objects.requireNonNull(model, "model == null");
        this.route = Objects.requireNonNull(route, "route == null");
        this.timeout = timeout;
    }

    @Override
    public void listener(Decoding.Listener l) {
        listener = Objects.requireNonNull(l);
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public Decoding.Route route() {
        synchronized (lock) {
            return route;
        }
    }

    /**
     * Runs one request along the current route. The inputs stay owned by the caller, who keeps them
     * open until the future completes.
     */
    public CompletableFuture<Map<String, Tensor>> submit(Gateway.Privacy privacy, Map<String, OnnxTensor> inputs) {
        Attempt a;
        synchronized (lock) {
            a = new Attempt("enc" + (++sequence), privacy == null ? Gateway.Privacy.NONE : privacy, inputs);
        }
        send(a);
        return a.done;
    }

    private void send(Attempt a) {
        Decoding.Route r;
        synchronized (lock) {
            if (holding) {
                a.heldAt = System.nanoTime();
                held.add(a);
                return;
            }
            r = route;
            inFlight.put(a, r);
        }
        a.tries++;
        String requestId = a.id + "/" + a.tries;
        CompletableFuture<Map<String, Tensor>> f = gateway.submit(model, r.epoch(), r.hops(), r.linkBack(), requestId, null, 0,
                a.privacy, a.inputs, timeout == null ? 0 : System.currentTimeMillis() + timeout.toMillis());
        if (timeout != null) {
            f = f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        f.whenComplete((out, err) -> {
            boolean retry = err != null && a.tries < 3 && !privacyRefusal(err);
            synchronized (lock) {
                inFlight.remove(a);
                if (retry) {
                    gateway.cancel(r.hops(), requestId);
                    a.heldAt = System.nanoTime();
                    held.add(a); // sent again along the route the next resume gives
                }
                checkHeld();
            }
            if (retry) {
                String message = String.valueOf((err.getCause() != null ? err.getCause() : err).getMessage());
                String node = "";
                for (Gateway.HopSpec h : r.hops()) {
                    if (message.contains("node " + h.node() + " ")) {
                        node = h.node();
                    }
                }
                listener.stepFailed(a.id, node, message);
                return;
            }
            if (err != null) {
                a.done.completeExceptionally(err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                        ? err.getCause() : err);
            } else {
                completed.increment();
                a.done.complete(out);
            }
        });
    }

    private static boolean privacyRefusal(Throwable err) {
        return String.valueOf(err.getMessage()).contains("privacy class");
    }

    private void checkHeld() {
        if (holding && allHeld != null && inFlight.isEmpty()) {
            allHeld.complete(null);
        }
    }

    @Override
    public CompletableFuture<Void> pause() {
        synchronized (lock) {
            holding = true;
            allHeld = new CompletableFuture<>();
            checkHeld();
            return allHeld;
        }
    }

    @Override
    public Map<String, Gateway.Privacy> sequences() {
        return Map.of();
    }

    @Override
    public Set<String> failedSequences() {
        return Set.of();
    }

    /** Requests held for a switch (failed ones included). */
    public int held() {
        synchronized (lock) {
            return held.size();
        }
    }

    @Override
    public void resume(Decoding.Route next, boolean replayAll) {
        List<Attempt> go;
        synchronized (lock) {
            route = next;
            holding = false;
            allHeld = null;
            long now = System.nanoTime();
            go = new ArrayList<>(held);
            held.clear();
            for (Attempt a : go) {
                maxStallNanos = Math.max(maxStallNanos, now - a.heldAt);
            }
        }
        go.forEach(this::send);
    }

    @Override
    public void failHeld(RuntimeException reason) {
        List<Attempt> gone;
        synchronized (lock) {
            gone = new ArrayList<>(held);
            held.clear();
            checkHeld();
        }
        gone.forEach(a -> a.done.completeExceptionally(reason));
    }

    @Override
    public void failInFlight(String reason) {
        inFlight.forEach((a, r) -> gateway.cancel(r.hops(), a.id + "/" + a.tries));
    }

    @Override
    public double maxStallMs() {
        synchronized (lock) {
            return maxStallNanos / 1e6;
        }
    }

    @Override
    public void resetStall() {
        synchronized (lock) {
            maxStallNanos = 0;
        }
    }

    @Override
    public CompletableFuture<Void> warmUp(List<Gateway.HopSpec> hops, long epoch) {
        return CompletableFuture.completedFuture(null); // encoders' first request is the warm-up; nothing to size for
    }

    @Override
    public long completed() {
        return completed.sum();
    }

    /** Fails what is held: nothing will send it any more. */
    @Override
    public void close() {
        synchronized (lock) {
            held.forEach(a -> a.done.completeExceptionally(new EdgeSplitException(ErrorCode.IO_FAILED, "closed")));
            held.clear();
        }
    }
}
