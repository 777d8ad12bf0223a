package io.edgesplit.bench.loadgen;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A load generator that follows the MLPerf Inference LoadGen rules for each {@link Scenario}: how
 * queries are issued, what is measured, and when a run is valid (minimum duration, minimum queries,
 * early stopping at 0.99 confidence). The system under test answers asynchronously; the generator
 * never waits on it except where the scenario says so (single-stream and multi-stream issue the
 * next query when the previous completes). Minimums can be scaled down for a small machine: the
 * result says when a run is below the official ones.
 */
public final class LoadGen {

    /** What a completed sample tells beyond its completion: for generative requests, its first token and output length. */
    public record Done(long firstTokenNanos, int outputTokens) {
        public static final Done PLAIN = new Done(0, 0);
    }

    /** The system under test: starts a sample and completes when it is done (exceptionally when it failed). */
    public interface SystemUnderTest {
        CompletableFuture<Done> issue(long sample);
    }

    /**
     * A run's settings.
     *
     * @param minDuration the run goes on at least this long (server: its schedule covers it)
     * @param minQueries and issues at least this many queries
     * @param maxDuration single-stream and multi-stream stop here even if short of the minimums
     * @param targetQps server: the Poisson arrival rate
     * @param latencyBoundNanos server: the bound its percentile must keep (0: none)
     * @param samplesPerQuery multi-stream: samples per query; offline: samples in its one query
     * @param seed of the arrival schedule
     * @param ttftBoundNanos server, generative: the bound on the 99th percentile time to first token (0: none)
     * @param tpotBoundNanos server, generative: the bound on the 99th percentile time per output token (0: none)
     */
    public record Settings(Scenario scenario, Duration minDuration, long minQueries, Duration maxDuration, double targetQps,
            long latencyBoundNanos, int samplesPerQuery, long seed, long ttftBoundNanos, long tpotBoundNanos) {
        public Settings {
            if (minQueries < 1 || samplesPerQuery < 1 || minDuration.isNegative() || maxDuration.compareTo(minDuration) < 0) {
                throw new IllegalArgumentException("min queries and samples per query must be >= 1, and max duration >= min duration");
            }
            if (scenario == Scenario.SERVER && !(targetQps > 0)) {
                throw new IllegalArgumentException("the server scenario needs a target QPS > 0");
            }
            if (ttftBoundNanos < 0 || tpotBoundNanos < 0) {
                throw new IllegalArgumentException("token latency bounds must be >= 0");
            }
        }

        /** Settings without bounds on token latencies. */
        public Settings(Scenario scenario, Duration minDuration, long minQueries, Duration maxDuration, double targetQps,
                long latencyBoundNanos, int samplesPerQuery, long seed) {
            this(scenario, minDuration, minQueries, maxDuration, targetQps, latencyBoundNanos, samplesPerQuery, seed, 0, 0);
        }

        /** The scenario's official settings (600 s, its minimum queries). */
        public static Settings official(Scenario s, double targetQps, long latencyBoundNanos) {
            return new Settings(s, Scenario.OFFICIAL_MIN_DURATION, s.officialMinQueries, Scenario.OFFICIAL_MIN_DURATION.multipliedBy(2),
                    targetQps, latencyBoundNanos, s.samplesPerQuery, 42);
        }

        public Settings withQps(double qps) {
            return new Settings(scenario, minDuration, minQueries, maxDuration, qps, latencyBoundNanos, samplesPerQuery, seed,
                    ttftBoundNanos, tpotBoundNanos);
        }

        /** These settings with bounds on the 99th percentile time to first token and time per output token (0: none). */
        public Settings withTokenBounds(long ttftNanos, long tpotNanos) {
            return new Settings(scenario, minDuration, minQueries, maxDuration, targetQps, latencyBoundNanos, samplesPerQuery, seed,
                    ttftNanos, tpotNanos);
        }
    }

    /**
     * A run: its latencies (per sample and, for multi-stream, per query, in issue order), when each
     * sample completed (ns from the start, in issue order), how long it took, and what failed.
     */
    public record Run(Settings settings, long[] sampleLatencies, long[] queryLatencies, long[] firstTokenLatencies,
            long[] timePerOutputToken, long[] completionOffsets, long queries, long failed, long durationNanos,
            long lastIssueNanos, List<Long> issueOffsets, int maxOutstanding, Map<String, Long> failures) {}

    /** Most distinct failure reasons a run keeps; later ones are counted under {@link #OTHER_FAILURES}. */
    static final int MAX_FAILURE_REASONS = 8;
    static final String OTHER_FAILURES = "(other reasons)";

    /**
     * The system with at most {@code max} samples outstanding at once, the rest waiting in issue
     * order without a thread each, as a client with a bounded connection pool sends them: what
     * LoadGen issues at once (offline, server bursts) queues here instead of past the server's
     * admission limit. Latency still counts from LoadGen's issue, the wait included.
     */
    public static SystemUnderTest window(SystemUnderTest sut, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("the window must be >= 1: " + max);
        }
        return new SystemUnderTest() {
            private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
            private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();
            private final java.util.concurrent.atomic.AtomicInteger wip = new java.util.concurrent.atomic.AtomicInteger();

            @Override
            public CompletableFuture<Done> issue(long sample) {
                CompletableFuture<Done> out = new CompletableFuture<>();
                waiting.add(() -> {
                    CompletableFuture<Done> f;
                    try {
                        f = sut.issue(sample);
                    } catch (RuntimeException e) {
                        f = CompletableFuture.failedFuture(e);
                    }
                    f.whenComplete((d, e) -> {
                        if (e != null) { // completed first, so the sample's end is not taken after the next send
                            out.completeExceptionally(e);
                        } else {
                            out.complete(d);
                        }
                        inFlight.decrementAndGet();
                        drain();
                    });
                });
                drain();
                return out;
            }

            /** Sends what the window allows; one caller at a time, others only ask it to look again. */
            private void drain() {
                if (wip.getAndIncrement() != 0) {
                    return;
                }
                int missed = 1;
                while (true) {
                    while (inFlight.get() < max) {
                        Runnable next = waiting.poll();
                        if (next == null) {
                            break;
                        }
                        inFlight.incrementAndGet();
                        next.run(); // a sample done at once drains again: counted in wip, not recursed into
                    }
                    missed = wip.addAndGet(-missed);
                    if (missed == 0) {
                        return;
                    }
                }
            }
        };
    }

    private LoadGen() {}

    /**
     * Untimed samples one after another, as a submitter warms a system up before LoadGen measures it
     * (JIT, connections, caches): for at least {@code d} and until the system is steady, that is the
     * median of the last 8 samples' latencies is within 10% of the median of the 8 before them, but
     * at most 4 x {@code d}. None for a zero duration. Returns how many completed; a failed one ends
     * the warm-up with its error.
     */
    public static long warmUp(SystemUnderTest sut, Duration d) throws InterruptedException {
        if (d.isZero()) {
            return 0;
        }
        long start = System.nanoTime();
        List<Long> latencies = new ArrayList<>();
        while (true) {
            long t0 = System.nanoTime();
            try {
                sut.issue(latencies.size()).get(Math.max(d.toSeconds(), 60), TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("warm-up sample " + latencies.size() + " failed: " + e.getMessage(), e);
            }
            latencies.add(System.nanoTime() - t0);
            long elapsed = System.nanoTime() - start;
            if (elapsed >= 4 * d.toNanos() || (elapsed >= d.toNanos() && steady(latencies, WARMUP_WINDOW))) {
                return latencies.size();
            }
        }
    }

    static final int WARMUP_WINDOW = 8;

    /** Whether the median of the last {@code w} values is within 10% of the median of the {@code w} before them. */
    static boolean steady(List<Long> v, int w) {
        if (v.size() < 2 * w) {
            return false;
        }
        long[] last = v.subList(v.size() - w, v.size()).stream().mapToLong(Long::longValue).toArray();
        long[] before = v.subList(v.size() - 2 * w, v.size() - w).stream().mapToLong(Long::longValue).toArray();
        double a = percentile(last, 0.5);
        double b = percentile(before, 0.5);
        return Math.abs(a - b) <= 0.1 * b;
    }

    /** Runs the scenario of {@code s} against {@code sut}. */
    public static Run run(Settings s, SystemUnderTest sut) throws InterruptedException {
        return switch (s.scenario()) {
            case SINGLE_STREAM, MULTI_STREAM -> closedLoop(s, sut);
            case SERVER -> server(s, sut);
            case OFFLINE -> offline(s, sut);
        };
    }

    /** Times of samples and their outcome, filled from the system's callbacks. */
    private static final class Record {
        final ConcurrentLinkedQueue<long[]> samples = new ConcurrentLinkedQueue<>(); // {index, latency, first token, tpot, end}
        final AtomicLong failed = new AtomicLong();
        final java.util.concurrent.ConcurrentHashMap<String, AtomicLong> failures = new java.util.concurrent.ConcurrentHashMap<>();
        final AtomicLong outstanding = new AtomicLong();
        final java.util.concurrent.atomic.AtomicInteger maxOutstanding = new java.util.concurrent.atomic.AtomicInteger();
        final List<Long> issueOffsets = new ArrayList<>();

        CompletableFuture<Void> issue(SystemUnderTest sut, long index, long fromNanos, long startNanos) {
            long now = System.nanoTime();
            synchronized (issueOffsets) {
                issueOffsets.add(now - startNanos);
            }
            maxOutstanding.accumulateAndGet((int) outstanding.incrementAndGet(), Math::max);
            CompletableFuture<Done> f;
            try {
                f = sut.issue(index);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            return f.handle((done, err) -> {
                long end = System.nanoTime();
                outstanding.decrementAndGet();
                if (err != null) {
                    failed.incrementAndGet();
                    failures.computeIfAbsent(failures.size() < MAX_FAILURE_REASONS ? reason(err) : OTHER_FAILURES,
                            k -> new AtomicLong()).incrementAndGet();
                } else {
                    long first = done.firstTokenNanos() > 0 ? done.firstTokenNanos() - fromNanos : -1;
                    long tpot = done.outputTokens() > 1 && done.firstTokenNanos() > 0
                            ? (end - done.firstTokenNanos()) / (done.outputTokens() - 1) : -1;
                    samples.add(new long[] {index, end - fromNanos, first, tpot, end - startNanos});
                }
                return null;
            });
        }

        Run run(Settings s, long[] queryLatencies, long queries, long durationNanos, long lastIssueNanos) {
            long[][] all = samples.toArray(long[][]::new);
            Arrays.sort(all, (a, b) -> Long.compare(a[0], b[0]));
            return new Run(s, Arrays.stream(all).mapToLong(x -> x[1]).toArray(), queryLatencies,
                    Arrays.stream(all).mapToLong(x -> x[2]).filter(x -> x >= 0).toArray(),
                    Arrays.stream(all).mapToLong(x -> x[3]).filter(x -> x >= 0).toArray(),
                    Arrays.stream(all).mapToLong(x -> x[4]).toArray(), queries, failed.get(), durationNanos,
                    lastIssueNanos, List.copyOf(issueOffsets), maxOutstanding.get(), failureCounts());
        }

        private Map<String, Long> failureCounts() {
            Map<String, Long> out = new java.util.TreeMap<>();
            failures.forEach((k, v) -> out.put(k, v.get()));
            return out;
        }

        /** The innermost message of a failure, one line of at most 200 characters. */
        static String reason(Throwable err) {
            Throwable t = err;
            while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                    && t.getCause() != null) {
                t = t.getCause();
            }
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            m = m.replaceAll("\\s+", " ").strip();
            return m.length() > 200 ? m.substring(0, 200) + "..." : m;
        }
    }

    private static Run closedLoop(Settings s, SystemUnderTest sut) throws InterruptedException {
        int perQuery = s.scenario() == Scenario.MULTI_STREAM ? s.samplesPerQuery() : 1;
        Record r = new Record();
        List<Long> queryLatencies = new ArrayList<>();
        long start = System.nanoTime();
        long queries = 0;
        long sample = 0;
        long lastIssue = 0;
        // until a query is issued after the minimum duration and the minimum count is reached, as LoadGen does
        while (!(lastIssue >= s.minDuration().toNanos() && queries >= s.minQueries())) {
            if (System.nanoTime() - start >= s.maxDuration().toNanos()) {
                break;
            }
            long issued = System.nanoTime();
            lastIssue = issued - start;
            CompletableFuture<?>[] all = new CompletableFuture<?>[perQuery];
            for (int k = 0; k < perQuery; k++) {
                all[k] = r.issue(sut, sample++, issued, start);
            }
            try {
                CompletableFuture.allOf(all).get(s.maxDuration().toNanos(), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                break; // a sample that never completes ends the run: it is counted below as missing
            }
            queryLatencies.add(System.nanoTime() - issued);
            queries++;
        }
        long duration = System.nanoTime() - start;
        long missing = sample - r.samples.size() - r.failed.get();
        r.failed.addAndGet(Math.max(0, missing));
        return r.run(s, queryLatencies.stream().mapToLong(Long::longValue).toArray(), queries, duration, lastIssue);
    }

    /**
     * Arrival times (ns from the start) of a Poisson process at {@code qps}, enough to cover both
     * minimums, as LoadGen pre-generates its schedule.
     */
    static long[] schedule(Settings s) {
        Random rnd = new Random(s.seed());
        List<Long> at = new ArrayList<>();
        double t = 0;
        while (at.size() < s.minQueries() || t < s.minDuration().toNanos()) {
            t += -Math.log(1 - rnd.nextDouble()) / s.targetQps() * 1e9;
            at.add((long) t);
        }
        return at.stream().mapToLong(Long::longValue).toArray();
    }

    private static Run server(Settings s, SystemUnderTest sut) throws InterruptedException {
        return arrivals(s, schedule(s), sut);
    }

    /**
     * Replays arrivals (ns from the start, ascending; a trace's) as the server scenario issues its
     * Poisson ones: each sample at its time, whatever is still running, its latency from that time.
     */
    public static Run replay(Settings s, long[] at, SystemUnderTest sut) throws InterruptedException {
        return arrivals(s, at, sut);
    }

    private static Run arrivals(Settings s, long[] at, SystemUnderTest sut) throws InterruptedException {
        Record r = new Record();
        List<CompletableFuture<Void>> all = new ArrayList<>(at.length);
        long start = System.nanoTime();
        for (int i = 0; i < at.length; i++) {
            long due = start + at[i];
            long wait;
            while ((wait = due - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            all.add(r.issue(sut, i, due, start)); // latency from the scheduled time, as LoadGen measures it
        }
        long lastIssue = System.nanoTime() - start;
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(s.maxDuration().toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // counted below
        }
        long duration = System.nanoTime() - start;
        r.failed.addAndGet(Math.max(0, at.length - r.samples.size() - r.failed.get()));
        return r.run(s, new long[0], at.length, duration, lastIssue);
    }

    private static Run offline(Settings s, SystemUnderTest sut) throws InterruptedException {
        Record r = new Record();
        long start = System.nanoTime();
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < s.samplesPerQuery(); i++) {
            all.add(r.issue(sut, i, start, start));
        }
        long lastIssue = System.nanoTime() - start;
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(s.maxDuration().toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // counted below
        }
        long duration = System.nanoTime() - start;
        r.failed.addAndGet(Math.max(0, s.samplesPerQuery() - r.samples.size() - r.failed.get()));
        return r.run(s, new long[] {duration}, 1, duration, lastIssue);
    }

    /** The percentile {@code p} of {@code values} (nearest rank), or -1 when empty. */
    public static long percentile(long[] values, double p) {
        if (values.length == 0) {
            return -1;
        }
        long[] v = values.clone();
        Arrays.sort(v);
        int rank = (int) Math.ceil(p * v.length);
        return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
    }

    /** The run's summary with MLPerf LoadGen's fields and verdicts. */
    public static Map<String, Object> summary(Run run) {
        Settings s = run.settings();
        Scenario sc = s.scenario();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("scenario", sc.label);
        out.put("queries", run.queries());
        out.put("samples", run.sampleLatencies().length);
        out.put("failed_samples", run.failed());
        if (!run.failures().isEmpty()) {
            out.put("failures", run.failures()); // reason -> samples
        }
        out.put("duration_s", run.durationNanos() / 1e9);
        out.put("latency_ns", latencies(run.sampleLatencies()));
        if (run.firstTokenLatencies().length > 0) {
            out.put("time_to_first_token_ns", latencies(run.firstTokenLatencies()));
            out.put("time_per_output_token_ns", latencies(run.timePerOutputToken()));
        }
        // as LoadGen judges the duration: offline by its one query's end, the others by the last query issued
        long issueNanos = sc == Scenario.OFFLINE ? run.durationNanos() : run.lastIssueNanos();
        boolean minDuration = issueNanos >= s.minDuration().toNanos();
        boolean minQueries = run.queries() >= s.minQueries();
        boolean early = true;
        boolean constraints = true;
        switch (sc) {
            case SINGLE_STREAM, MULTI_STREAM -> {
                long[] latencies = sc == Scenario.SINGLE_STREAM ? run.sampleLatencies() : run.queryLatencies();
                String what = sc == Scenario.SINGLE_STREAM ? "sample" : "query";
                out.put("metric", Math.round(sc.percentile * 100) + "th percentile " + what + " latency (ns)");
                out.put("result", percentile(latencies, sc.percentile));
                EarlyStopping.Estimate e = EarlyStopping.estimate(latencies, sc.percentile);
                early = e.enough();
                Map<String, Object> es = new LinkedHashMap<>();
                es.put("queries_needed", e.needed());
                es.put("discarded_highest", e.discarded());
                es.put("estimate_ns", e.enough() ? e.latencyNanos() : null);
                out.put("early_stopping", es);
                out.put("qps", run.queries() > 1 && run.lastIssueNanos() > 0 ? (run.queries() - 1) / (run.lastIssueNanos() / 1e9) : null);
            }
            case SERVER -> {
                out.put("metric", "completed samples per second at target QPS " + s.targetQps());
                out.put("target_qps", s.targetQps());
                out.put("result", run.sampleLatencies().length > 1 ? (run.sampleLatencies().length - 1) / (run.durationNanos() / 1e9) : 0);
                out.put("latency_bound_ns", s.latencyBoundNanos());
                // each bound on its 99th percentile, as LoadGen checks the latency (and, for LLMs, TTFT and TPOT)
                Map<String, Object> met = new LinkedHashMap<>();
                Map<String, Object> more = new LinkedHashMap<>();
                long[][] measured = {run.sampleLatencies(), run.firstTokenLatencies(), run.timePerOutputToken()};
                long[] bounds = {s.latencyBoundNanos(), s.ttftBoundNanos(), s.tpotBoundNanos()};
                String[] names = {"latency", "time_to_first_token", "time_per_output_token"};
                out.put("ttft_bound_ns", s.ttftBoundNanos());
                out.put("tpot_bound_ns", s.tpotBoundNanos());
                for (int k = 0; k < 3; k++) {
                    if (bounds[k] <= 0) {
                        continue;
                    }
                    long p = percentile(measured[k], sc.percentile);
                    boolean within = p >= 0 && p <= bounds[k];
                    met.put(names[k], within);
                    constraints &= within;
                    long shortfall = measured[k].length == 0 ? s.minQueries()
                            : EarlyStopping.serverShortfall(measured[k], bounds[k], sc.percentile);
                    more.put(names[k], shortfall);
                    early &= shortfall == 0;
                }
                out.put("performance_constraints_met", constraints);
                out.put("constraints", met);
                out.put("early_stopping", Map.of("more_queries_needed", more));
            }
            case OFFLINE -> {
                out.put("metric", "samples per second");
                out.put("result", run.sampleLatencies().length / (run.durationNanos() / 1e9));
            }
        }
        out.put("latency_quantiles_ns", quantiles(sc == Scenario.MULTI_STREAM ? run.queryLatencies() : run.sampleLatencies()));
        out.put("throughput_timeline", timeline(run));
        out.put("issue_s", issueNanos / 1e9);
        out.put("min_duration_met", minDuration);
        out.put("min_queries_met", minQueries);
        out.put("early_stopping_met", early);
        boolean valid = minDuration && minQueries && early && constraints && run.failed() == 0;
        out.put("result_valid", valid);
        boolean below = s.minDuration().compareTo(Scenario.OFFICIAL_MIN_DURATION) < 0 || s.minQueries() < sc.officialMinQueries
                || (sc == Scenario.OFFLINE && s.samplesPerQuery() < sc.samplesPerQuery);
        out.put("below_official_minimums", below);
        out.put("official_minimums", Map.of("duration_s", Scenario.OFFICIAL_MIN_DURATION.toSeconds(), "queries",
                sc.officialMinQueries, "samples_per_query", sc.samplesPerQuery));
        out.put("settings", Map.of("min_duration_s", s.minDuration().toMillis() / 1000.0, "min_queries", s.minQueries(),
                "samples_per_query", s.samplesPerQuery(), "seed", s.seed()));
        return out;
    }

    /** The 0th to 100th percentiles of {@code v} in steps of 1 (nearest rank): enough for a CDF plot. */
    static long[] quantiles(long[] v) {
        if (v.length == 0) {
            return new long[0];
        }
        long[] sorted = v.clone();
        Arrays.sort(sorted);
        long[] q = new long[101];
        for (int i = 0; i <= 100; i++) {
            q[i] = sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(i / 100.0 * sorted.length) - 1))];
        }
        return q;
    }

    /** Completed samples per second in consecutive bins of the run (1 s, or longer for runs over 2 minutes). */
    static Map<String, Object> timeline(Run run) {
        double binS = Math.max(1, Math.ceil(run.durationNanos() / 1e9 / 120));
        int bins = (int) Math.max(1, Math.ceil(run.durationNanos() / 1e9 / binS));
        double[] rate = new double[bins];
        for (long t : run.completionOffsets()) {
            rate[(int) Math.min(bins - 1, t / 1e9 / binS)] += 1 / binS;
        }
        return Map.of("bin_s", binS, "samples_per_s", rate);
    }

    private static Map<String, Object> latencies(long[] v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", percentile(v, 0.50));
        m.put("p90", percentile(v, 0.90));
        m.put("p95", percentile(v, 0.95));
        m.put("p99", percentile(v, 0.99));
        m.put("max", v.length == 0 ? -1 : Arrays.stream(v).max().getAsLong());
        m.put("mean", v.length == 0 ? -1 : (long) Arrays.stream(v).average().orElse(0));
        return m;
    }

    /**
     * The server scenario's metric: the highest target QPS between {@code lo} and {@code hi} whose
     * run is valid (its percentile within the bound, early stopping met, nothing failed), by
     * bisection over {@code steps} runs after checking both ends. Returns each trial's summary and
     * the best valid QPS (0 if none).
     */
    public static Map<String, Object> searchServer(Settings base, SystemUnderTest sut, double lo, double hi, int steps)
            throws InterruptedException {
        List<Map<String, Object>> trials = new ArrayList<>();
        double best = 0;
        Map<String, Object> bestRun = null;
        double good = lo;
        double bad = hi;
        List<Double> tries = new ArrayList<>(List.of(hi, lo));
        for (int i = 0; i < steps + 2; i++) {
            double qps = i < 2 ? tries.get(i) : (good + bad) / 2;
            Map<String, Object> sum = summary(run(base.withQps(qps), sut));
            trials.add(Map.of("target_qps", qps, "result_valid", sum.get("result_valid"), "p99_ns",
                    ((Map<?, ?>) sum.get("latency_ns")).get("p99")));
            boolean valid = Boolean.TRUE.equals(sum.get("result_valid"));
            if (valid && qps > best) {
                best = qps;
                bestRun = sum;
            }
            if (i == 0 && valid) {
                break; // the top of the range already holds
            }
            if (i == 1 && !valid) {
                break; // not even the bottom does
            }
            if (i >= 2) {
                if (valid) {
                    good = qps;
                } else {
                    bad = qps;
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("scenario", Scenario.SERVER.label);
        out.put("metric", "highest target QPS meeting the latency bound (early stopping at " + EarlyStopping.CONFIDENCE + ")");
        out.put("result", best);
        out.put("trials", trials);
        out.put("best_run", bestRun);
        return out;
    }
}
