package io.edgesplit.orchestrator;

import io.edgesplit.worker.Gateway;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Requests of one model flowing along a route, as the {@link Migrator} sees them: it can hold them
 * at a boundary (a token for generative sequences, a request for encoders), learn which sequences
 * hold KV caches, and let them go on along another route.
 */
public interface Traffic {
    String model();

    /** Told when a step fails; the request is held until a resume. */
    void listener(Decoding.Listener listener);

    Decoding.Route route();

    /** Holds every request at its next boundary; completes when nothing is in flight. */
    CompletableFuture<Void> pause();

    /** Sequences with KV caches on the route, and the privacy of each (empty for encoders). */
    Map<String, Gateway.Privacy> sequences();

    /** Sequences whose caches were lost (a failed step): they must be replayed. */
    Set<String> failedSequences();

    /** Lets the held requests go on along {@code next}; {@code replayAll}: rebuild every cache from the logs. */
    void resume(Decoding.Route next, boolean replayAll);

    /**
     * Fails, with {@code reason}, every request held because a step of it failed: its route is gone
     * and none may take it (its privacy class has no placement left), so it ends here.
     */
    void failHeld(RuntimeException reason);

    /** Fails every step in flight now (its node is dead): the requests are held for a resume that replays them. */
    void failInFlight(String reason);

    /** The longest a request was held at a boundary since the last {@link #resetStall}, in ms. */
    double maxStallMs();

    void resetStall();

    /**
     * Runs one throwaway request through {@code hops} (under the running {@code epoch}, so nothing
     * is fenced off) at the size the running sequences have reached, so that newly loaded ranges
     * have run once before they serve.
     */
    CompletableFuture<Void> warmUp(java.util.List<Gateway.HopSpec> hops, long epoch);

    /** Steps (decoders) or requests (encoders) completed so far. */
    long completed();
}
