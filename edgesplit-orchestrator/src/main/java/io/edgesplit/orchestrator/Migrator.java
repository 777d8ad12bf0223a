package io.edgesplit.orchestrator;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.wire.v1.KvSequence;
import io.edgesplit.wire.v1.MoveKvReply;
import io.edgesplit.wire.v1.MovedKv;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.Gateway.HopSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Switches running sequences from one route to another: moving a range to another node and moving
 * a cut point are the same operation. The steps: load the new ranges (the old route keeps
 * serving), copy the KV caches of every block whose holder changes straight from the old holder
 * to the new one while decoding goes on (pre-copy), hold the sequences at a token boundary, copy
 * what they added since (the delta), fence the old epoch off on every worker involved, let the
 * sequences go on along the new route, and unload the ranges nobody uses any more. If any copy
 * fails, the sequences are replayed from their token logs on the new route instead: nothing is
 * lost.
 */
public final class Migrator {

    /** How caches get to the new route. */
    public enum Method {
        /** Copy while decoding goes on, then only the delta at the switch. */
        PRECOPY,
        /** Hold the sequences, then copy the whole caches. */
        STOP_AND_COPY,
        /** Hold the sequences and rebuild the caches by running the token logs again (as Petals does). */
        REPLAY;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * What a switch did and cost.
     *
     * @param stallMs the longest a sequence was held at the token boundary
     * @param fallback why the switch fell back to replay, or null
     */
    public record Report(long fromEpoch, long toEpoch, Method method, int sequences, int loaded, int unloaded,
            int transfers, long kvBytes, double loadMs, double precopyMs, double holdMs, double finalCopyMs,
            double stallMs, double totalMs, String fallback) {}

    /** A range of blocks whose caches go from an old hop to a new one. */
    record Transfer(HopSpec from, HopSpec to, int first, int last) {}

    /** How long old ranges stay loaded after a switch. */
    public static final long UNLOAD_GRACE_MS = 1000;

    /** Pre-copy rounds at most before the sequences are held. */
    static final int PRECOPY_ROUNDS = 5;

    private final Gateway gateway;
    private volatile java.util.function.Consumer<String> phases = p -> { };

    public Migrator(Gateway gateway) {
        this.gateway = Objects.requireNonNull(gateway, "gateway == null");
    }

    /** Told each phase as it starts: load, precopy, hold, copy, fence, resume (for logs and fault tests). */
    public void phases(java.util.function.Consumer<String> listener) {
        phases = Objects.requireNonNull(listener);
    }

    static boolean same(HopSpec a, HopSpec b) {
        return a.address().equals(b.address()) && a.firstBlock() == b.firstBlock() && a.lastBlock() == b.lastBlock();
    }

    /** For every new hop, the old hops whose blocks it takes over, where the holder changes. */
    static List<Transfer> transfers(List<HopSpec> from, List<HopSpec> to) {
        List<Transfer> out = new ArrayList<>();
        for (HopSpec n : to) {
            if (from.stream().anyMatch(o -> same(o, n))) {
                continue;
            }
            for (HopSpec o : from) {
                int first = Math.max(o.firstBlock(), n.firstBlock());
                int last = Math.min(o.lastBlock(), n.lastBlock());
                if (first <= last) {
                    out.add(new Transfer(o, n, first, last));
                }
            }
        }
        return out;
    }

    /**
     * Moves the sequences of {@code decoding} to {@code next}, whose epoch must be newer. Blocks
     * until they run along it.
     */
    public Report switchTo(Traffic decoding, Decoding.Route next, Method method) {
        long t0 = System.nanoTime();
        decoding.resetStall();
        Decoding.Route current = decoding.route();
        if (next.epoch() <= current.epoch()) {
            throw EdgeSplitException.invalidArgument("the new route's epoch " + next.epoch() + " is not newer than "
                    + current.epoch());
        }
        String model = decoding.model();
        phases.accept("load");
        List<HopSpec> toLoad = next.hops().stream().filter(n -> current.hops().stream().noneMatch(o -> same(o, n))).toList();
        List<CompletableFuture<HopSpec>> loads = new ArrayList<>();
        for (HopSpec h : toLoad) {
            loads.add(CompletableFuture.supplyAsync(() -> gateway.load(h.address(), h.zone(), model, h.firstBlock(),
                    h.lastBlock(), next.epoch(), h.linkIn()), runnable -> Thread.ofVirtual().start(runnable)));
        }
        await(loads, "loading the new ranges");
        double loadMs = ms(t0);

        List<Transfer> transfers = method == Method.REPLAY ? List.of() : transfers(current.hops(), next.hops());
        long bytes = 0;
        String fallback = null;
        Map<Transfer, Map<String, Long>> copied = new HashMap<>();
        Set<String> precopied = new java.util.HashSet<>();
        long t1 = System.nanoTime();
        // the new ranges run once at the running sequences' size while the old route serves
        CompletableFuture<Void> warm = toLoad.isEmpty() ? CompletableFuture.completedFuture(null)
                : decoding.warmUp(next.hops(), current.epoch());
        if (method == Method.PRECOPY) {
            phases.accept("precopy");
            Map<String, Gateway.Privacy> running = decoding.sequences();
            precopied.addAll(running.keySet());
            try {
                // rounds: the whole caches, then what was added meanwhile, until a round adds almost nothing
                for (int round = 0; round < PRECOPY_ROUNDS; round++) {
                    long added = 0;
                    for (var e : move(model, transfers, running, copied).entrySet()) {
                        Map<String, Long> now = positions(e.getValue());
                        Map<String, Long> before = copied.getOrDefault(e.getKey(), Map.of());
                        for (var p : now.entrySet()) {
                            added = Math.max(added, p.getValue() - before.getOrDefault(p.getKey(), 0L));
                        }
                        copied.put(e.getKey(), now);
                        bytes += bytes(e.getValue());
                    }
                    if (round > 0 && added <= 2) {
                        break;
                    }
                }
            } catch (RuntimeException e) {
                fallback = "pre-copy failed: " + e.getMessage();
            }
        }
        try {
            warm.get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            // a range that fails its warm-up fails its first step the same way: the usual fallback applies
        }
        double precopyMs = ms(t1);
        long t2 = System.nanoTime();
        phases.accept("hold");
        await(List.of(decoding.pause()), "holding the sequences at a token boundary");
        double holdMs = ms(t2);
        long t3 = System.nanoTime();
        if (fallback == null && method != Method.REPLAY) {
            phases.accept("copy");
            Map<String, Gateway.Privacy> running = decoding.sequences();
            running.keySet().removeAll(decoding.failedSequences());
            try {
                for (MoveKvReply r : move(model, transfers, running, copied).values()) {
                    bytes += bytes(r);
                }
            } catch (RuntimeException e) {
                fallback = "copying the caches failed: " + e.getMessage();
            }
        }
        double finalCopyMs = ms(t3);
        phases.accept("fence");
        Set<String> involved = new LinkedHashSet<>();
        current.hops().forEach(h -> involved.add(h.address()));
        next.hops().forEach(h -> involved.add(h.address()));
        for (String address : involved) {
            try {
                gateway.fence(address, model, next.epoch());
            } catch (RuntimeException e) {
                // a worker that cannot be reached serves no epoch at all
            }
        }
        int sequences = decoding.sequences().size();
        precopied.removeAll(decoding.sequences().keySet());
        phases.accept("resume");
        decoding.resume(next, method == Method.REPLAY || fallback != null);
        for (String gone : precopied) { // finished while their caches were being copied: drop the copies
            try {
                gateway.endSequence(next.hops(), gone);
            } catch (RuntimeException e) {
                // idle expiry frees them
            }
        }
        double stallMs = decoding.maxStallMs();
        // drained: nothing runs on the old ranges any more. Freeing them costs the worker a moment, so it
        // happens after a grace period, not while the moved sequences take their first steps.
        List<HopSpec> old = current.hops().stream().filter(o -> next.hops().stream().noneMatch(n -> same(o, n))).toList();
        Thread.ofVirtual().name("unload-epoch-" + current.epoch()).start(() -> {
            try {
                Thread.sleep(UNLOAD_GRACE_MS);
            } catch (InterruptedException e) {
                return;
            }
            for (HopSpec o : old) {
                if (decoding.route().hops().stream().anyMatch(h -> same(h, o))) {
                    continue; // a later switch took it back into use
                }
                try {
                    // fenced by the epoch this switch loaded for: a later switch that loaded the range again keeps it
                    gateway.unload(o, model, next.epoch());
                } catch (RuntimeException e) {
                    // gone already
                }
            }
        });
        int unloaded = old.size();
        return new Report(current.epoch(), next.epoch(), method, sequences, toLoad.size(), unloaded, transfers.size(), bytes,
                loadMs, precopyMs, holdMs, finalCopyMs, stallMs, ms(t0), fallback);
    }

    /**
     * Runs every transfer for the sequences: from the position each was copied to before (a delta),
     * or whole. All transfers go at once; each worker reads its caches between steps.
     */
    private Map<Transfer, MoveKvReply> move(String model, List<Transfer> transfers, Map<String, Gateway.Privacy> sequences,
            Map<Transfer, Map<String, Long>> before) {
        Map<Transfer, CompletableFuture<MoveKvReply>> futures = new HashMap<>();
        for (Transfer t : transfers) {
            Map<String, Long> done = before.getOrDefault(t, Map.of());
            List<KvSequence> seqs = new ArrayList<>();
            sequences.forEach((id, p) -> seqs.add(KvSequence.newBuilder().setSequenceId(id)
                    .setFromPosition(done.getOrDefault(id, 0L)).setPrivacyClass(p.className())
                    .addAllAllowedZones(p.allowedZones()).build()));
            if (!seqs.isEmpty()) {
                futures.put(t, gateway.moveKv(model, t.from(), t.to(), t.first(), t.last(), seqs));
            }
        }
        await(new ArrayList<>(futures.values()), "moving KV caches");
        Map<Transfer, MoveKvReply> out = new HashMap<>();
        futures.forEach((t, f) -> out.put(t, f.join()));
        return out;
    }

    private static Map<String, Long> positions(MoveKvReply r) {
        Map<String, Long> out = new HashMap<>();
        for (MovedKv m : r.getMovedList()) {
            out.put(m.getSequenceId(), m.getPositions());
        }
        return out;
    }

    private static long bytes(MoveKvReply r) {
        long total = 0;
        for (MovedKv m : r.getMovedList()) {
            total += m.getBytes();
        }
        return total;
    }

    private static <T> void await(List<CompletableFuture<T>> futures, String what) {
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof EdgeSplitException es ? es
                    : new EdgeSplitException(ErrorCode.RUNTIME_FAILED, what + " failed: " + c.getMessage(), c);
        } catch (TimeoutException e) {
            throw new EdgeSplitException(ErrorCode.RUNTIME_FAILED, what + " took longer than 10 minutes", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EdgeSplitException(ErrorCode.INTERNAL, "interrupted while " + what, e);
        }
    }

    private static double ms(long since) {
        return (System.nanoTime() - since) / 1e6;
    }
}
