package io.edgesplit.orchestrator;

import io.edgesplit.wire.v1.LinkRate;
import io.edgesplit.wire.v1.Telemetry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Link bandwidth estimated from real transfers: every worker reports, per peer it sends to, its
 * newest message large enough for its size to matter, with its bytes and time (from handing it to
 * the link to the receiver's acknowledgement). A link's latency is taken as configured (plus the
 * data plane's cost per message); what a message takes beyond that is put down to bandwidth. (A
 * smoothed average of messages let a link the plan had left, known only from its probes, look slow
 * for many seconds after it was back.) The estimate is the best rate the link's reports
 * reached within the last {@link #WINDOW_MS}: on shared cores a transfer's time also holds the
 * sender's and receiver's waits for a CPU, which only ever make a link look slower (an EWMA of them
 * made the demo's 100 Mbit/s link look like 40 and switch plans for it), while a real drop lowers
 * every report and shows once the window has passed. A link's first window also holds its
 * configured rate, when there is one: its first reports come from connections and code still
 * warming up, and one of them alone made the demo switch a plan away and back within two seconds;
 * a link that really is slower shows once that window has passed. The raw series is kept for plots.
 */
public final class LinkMonitor {
    /** Messages smaller than this say little about bandwidth (workers report their newest message this large). */
    static final double MIN_BYTES = 16 * 1024;
    /** A link's first messages pay for connections and JIT warm-up: its estimate starts after these. */
    static final int MIN_TRANSFERS = 8;
    /** How far back the estimate looks for the link's best rate. */
    static final long WINDOW_MS = 1000;
    static final int SERIES = 20_000;

    /** One report about a link: what its messages took, and the estimate after it. */
    public record Sample(long atMs, String from, String to, double bytes, double ms, double bandwidthBytesPerS) {}

    private final Map<String, Double> estimates = new ConcurrentHashMap<>();
    /** Recent rates per link (at ms, bytes/s), oldest first; guarded by itself. */
    private final Map<String, ArrayDeque<double[]>> recent = new ConcurrentHashMap<>();
    private final Map<String, Long> seenLarge = new ConcurrentHashMap<>();
    private final ArrayDeque<Sample> series = new ArrayDeque<>();
    private final java.util.function.BiFunction<String, String, Double> latencyMs;
    private final java.util.function.BiFunction<String, String, Double> configured;

    /** @param latencyMs a link's configured latency plus the data plane's cost per message */
    public LinkMonitor(java.util.function.BiFunction<String, String, Double> latencyMs) {
        this(latencyMs, (a, b) -> null);
    }

    /**
     * @param latencyMs a link's configured latency plus the data plane's cost per message
     * @param configured a link's configured bandwidth in bytes/s, or null
     */
    public LinkMonitor(java.util.function.BiFunction<String, String, Double> latencyMs,
            java.util.function.BiFunction<String, String, Double> configured) {
        this.latencyMs = latencyMs;
        this.configured = configured;
    }

    private static String key(String from, String to) {
        return from + "->" + to;
    }

    /** Takes a worker's report. */
    public void update(String from, Telemetry t, long nowMs) {
        for (LinkRate l : t.getLinksList()) {
            String k = key(from, l.getPeer());
            Long seen = seenLarge.put(k, l.getLargeTransfers());
            if (seen != null && seen == l.getLargeTransfers()) {
                continue; // nothing large sent since the last report
            }
            if (l.getLargeTransfers() == 0 || l.getLastLargeBytes() < MIN_BYTES || l.getTransfers() < MIN_TRANSFERS) {
                continue; // small messages say little about bandwidth; the first ones pay for warming up
            }
            double transferMs = Math.max(l.getLastLargeMs() - latencyMs.apply(from, l.getPeer()), 0.05);
            double bw = l.getLastLargeBytes() / (transferMs / 1000);
            double smoothed;
            ArrayDeque<double[]> window = recent.computeIfAbsent(k, x -> {
                ArrayDeque<double[]> w = new ArrayDeque<>();
                Double prior = configured.apply(from, l.getPeer());
                if (prior != null) {
                    w.addLast(new double[] {nowMs, prior});
                }
                return w;
            });
            synchronized (window) {
                window.addLast(new double[] {nowMs, bw});
                while (window.size() > 1 && window.peekFirst()[0] < nowMs - WINDOW_MS) {
                    window.removeFirst();
                }
                smoothed = window.stream().mapToDouble(x -> x[1]).max().orElse(bw);
            }
            estimates.put(k, smoothed);
            synchronized (series) {
                series.add(new Sample(nowMs, from, l.getPeer(), l.getLastLargeBytes(), l.getLastLargeMs(), smoothed));
                if (series.size() > SERIES) {
                    series.removeFirst();
                }
            }
        }
    }

    /** The estimated bandwidth of a link in bytes/s, or null if it carried nothing large yet. */
    public Double bandwidth(String from, String to) {
        return estimates.get(key(from, to));
    }

    /** Every link's estimate in bytes/s, keyed "from->to", sorted. */
    public Map<String, Double> estimates() {
        return new java.util.TreeMap<>(estimates);
    }

    /** Forgets what was measured on links from or to a node (it restarted). */
    public void forget(String node) {
        estimates.keySet().removeIf(k -> k.startsWith(node + "->") || k.endsWith("->" + node));
        recent.keySet().removeIf(k -> k.startsWith(node + "->") || k.endsWith("->" + node));
        seenLarge.keySet().removeIf(k -> k.startsWith(node + "->") || k.endsWith("->" + node));
    }

    public List<Sample> series() {
        synchronized (series) {
            return new ArrayList<>(series);
        }
    }
}
