package io.edgesplit.cli;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.model.BlockRange;
import io.edgesplit.core.stats.Median;
import io.edgesplit.onnx.generate.Generator;
import io.edgesplit.onnx.generate.Sampling;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.graph.DimValues;
import io.edgesplit.onnx.graph.InputSynthesizer;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.runtime.StepContext;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import io.edgesplit.wire.v1.Telemetry;
import io.edgesplit.worker.Gateway;
import io.edgesplit.worker.RemoteStepRunner;
import io.edgesplit.worker.WorkerProcess;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code edgesplit bench pipeline}: each model whole in this process against the same model split
 * over worker processes (gRPC on loopback), in one run. Encoders: batch-1 latency and throughput
 * with requests in flight. Decoders: one sequence's decode tokens/s and the aggregate of several
 * sequences in flight. With {@code --bandwidth-mbps} every hop is also run over EMULATED links of
 * that rate, and the measured extra time is set beside bytes / bandwidth.
 */
@Command(name = "pipeline", description = "Single process vs split over worker processes: latency, throughput, decode tokens/s.")
final class PipelineBenchCommand implements Callable<Integer> {
    /** Peer anchors measured on this kind of machine (issue text): distributed-llama, 2 processes on loopback, F32. */
    static final double DLLAMA_110M_8SEQ = 91;
    static final double DLLAMA_STORIES_1SEQ = 6639;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", split = ",", paramLabel = "MODEL",
            description = "models, comma-separated. Default: builtin:minilm,builtin:stories260k,builtin:llama-110m-shape,builtin:gpt2-small-shape")
    List<String> models = List.of("builtin:minilm", "builtin:stories260k", "builtin:llama-110m-shape", "builtin:gpt2-small-shape");

    @Option(names = "--workers", paramLabel = "N", description = "worker processes, one stage each. Default: ${DEFAULT-VALUE}")
    int workers = 2;

    @Option(names = "--split", paramLabel = "HOW",
            description = "balanced: cut where the blocks' times, measured here first (1 step, the workers' threads), give the "
                    + "smallest slowest stage; equal: near-equal block counts. Default: ${DEFAULT-VALUE}")
    String splitBy = "balanced";

    @Option(names = "--worker-threads", paramLabel = "N", description = "intra-op threads per worker (and of the single process). Default: ${DEFAULT-VALUE}")
    int workerThreads = 1;

    @Option(names = "--bandwidth-mbps", paramLabel = "X", description = "also run the encoders over EMULATED links of X Mbit/s on every hop")
    Double bandwidthMbps;

    @Option(names = "--requests", paramLabel = "N", description = "timed encoder requests per variant. Default: ${DEFAULT-VALUE}")
    int requests = 60;

    @Option(names = "--sequence", paramLabel = "N", description = "encoder tokens per request. Default: ${DEFAULT-VALUE}")
    int sequence = 32;

    @Option(names = "--sequences", paramLabel = "N", description = "decoder sequences in flight for the aggregate. Default: ${DEFAULT-VALUE}")
    int sequences = 8;

    @Option(names = "--tokens", paramLabel = "N", description = "tokens generated per decoder sequence. Default: ${DEFAULT-VALUE}")
    int tokens = 64;

    @Option(names = "--warmup-s", paramLabel = "S",
            description = "seconds of untimed requests before each variant is timed, so that every JVM on the path runs compiled code. Default: ${DEFAULT-VALUE}")
    double warmupS = 5;

    @Option(names = "--warmup-steps", paramLabel = "N",
            description = "and at least this many untimed steps (requests, or tokens of decoders) per variant: the JIT's last "
                    + "tier compiles a method after 5,000-15,000 calls, and stories260K over 2 workers decoded 209 tokens/s "
                    + "after 1,000 steps, 525 after 10,000 and 732 after 30,000. Default: ${DEFAULT-VALUE}")
    int warmupSteps = 15_000;

    @Option(names = "--warmup-max-s", paramLabel = "S",
            description = "but no longer than this per variant (a decoder at 30 tokens/s would take 8 minutes for the steps). "
                    + "Default: ${DEFAULT-VALUE}")
    double warmupMaxS = 60;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    CommonOptions common;

    @Override
    public Integer call() throws Exception {
        if (!splitBy.equals("balanced") && !splitBy.equals("equal")) {
            throw EdgeSplitException.invalidArgument("--split must be balanced or equal: " + splitBy);
        }
        if (workers < 1 || requests < 1 || sequences < 1 || tokens < 2 || !(warmupS >= 0) || warmupSteps < 0
                || !(warmupMaxS >= warmupS)) {
            throw EdgeSplitException.invalidArgument("--workers, --requests and --sequences must be >= 1, --tokens >= 2, --warmup-s and "
                    + "--warmup-steps >= 0, --warmup-max-s >= --warmup-s");
        }
        if (bandwidthMbps != null && !(bandwidthMbps > 0)) {
            throw EdgeSplitException.invalidArgument("--bandwidth-mbps must be > 0");
        }
        common.threads = workerThreads; // the single process gets the threads of one worker
        PrintWriter err = spec.commandLine().getErr();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String model : models) {
            ModelArgs args = new ModelArgs();
            args.model = model;
            args.common = common;
            AnalyzedModel am = args.analyze();
            am.requireCuts();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("model", am.name());
            List<BlockRange> split;
            if (splitBy.equals("equal")) {
                split = equalRanges(am.blockCount(), workers);
            } else {
                // the step the split serves: an encoder request of --sequence tokens, or one decode step
                DimValues dims = ProfileCommand.dims(am, 1, am.state().isEmpty() ? sequence : null, 64);
                int threads = Math.min(workerThreads, Runtime.getRuntime().availableProcessors());
                double[] blockMs = PlanCommand.measure(am, dims, List.of(threads)).get(threads);
                split = balancedRanges(blockMs, workers);
                row.put("block_ms_measured", blockMs);
                row.put("predicted_stage_ms", split.stream()
                        .mapToDouble(r -> java.util.Arrays.stream(blockMs, r.first(), r.last() + 1).sum()).toArray());
            }
            row.put("split_by", splitBy);
            // the single process is measured first, alone on the machine: worker JVMs still compiling
            // their hot paths would take cores from it
            double[] local = am.state().isEmpty() ? encoderLocal(am, row) : decoderLocal(am, row);
            List<WorkerProcess> procs = new ArrayList<>();
            try (Gateway g = Gateway.start("127.0.0.1", 0)) {
                List<Gateway.HopSpec> route = new ArrayList<>();
                for (int i = 0; i < split.size(); i++) {
                    WorkerProcess w = WorkerProcess.start("w" + i, "edge", workerThreads);
                    procs.add(w);
                    route.add(g.load(w.address(), "edge", model, split.get(i).first(), split.get(i).last(), 1, null));
                }
                progress(err, am.name() + ": " + split.size() + " worker processes loaded " + split);
                if (am.state().isEmpty()) {
                    encoderSplit(g, am, model, route, local, row, err);
                } else {
                    decoderSplit(g, am, model, route, local, row, err);
                }
                row.put("stages", split.stream().map(Object::toString).toList());
                rows.add(row);
            } finally {
                procs.forEach(WorkerProcess::close);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("benchmark", "pipeline");
            root.put("transport", "gRPC over loopback between worker processes on this machine"
                    + (bandwidthMbps != null ? "; shaped runs: EMULATED links of " + bandwidthMbps + " Mbit/s on every hop" : ""));
            root.put("workers", workers);
            root.put("worker_threads", workerThreads);
            root.put("warmup", Map.of("min_seconds", warmupS, "min_steps", warmupSteps, "max_seconds", warmupMaxS)); // per variant, untimed
            root.put("models", rows);
            root.put("machine", BenchCommand.machine());
            out.println(Json.write(root));
        } else {
            for (Map<String, Object> r : rows) {
                out.println(r.get("model") + ": single " + r.get("single_process") + ", split " + r.get("split")
                        + (r.containsKey("per_hop_overhead_ms") ? ", per hop " + fmt(r.get("per_hop_overhead_ms")) + " ms" : "")
                        + (r.containsKey("measured_transfer_ms") ? ", transfer measured " + fmt(r.get("measured_transfer_ms"))
                                + " ms vs predicted " + fmt(r.get("predicted_transfer_ms")) + " ms" : ""));
            }
        }
        return EdgeSplitCli.OK;
    }

    private static String fmt(Object v) {
        return String.format(Locale.ROOT, "%.3f", ((Number) v).doubleValue());
    }

    private void progress(PrintWriter err, String line) {
        if (!json) {
            err.println(line);
            err.flush();
        }
    }

    static List<BlockRange> equalRanges(int blocks, int parts) {
        int n = Math.min(parts, blocks);
        List<BlockRange> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < n; i++) {
            int end = (int) Math.round((double) blocks * (i + 1) / n) - 1;
            out.add(new BlockRange(start, end));
            start = end + 1;
        }
        return out;
    }

    /**
     * Contiguous ranges, {@code min(parts, blocks)} of them, whose largest sum of block times is the
     * smallest possible (the stage that bounds a pipeline's throughput); transfers are not counted.
     * Ties go to the first split found.
     */
    static List<BlockRange> balancedRanges(double[] blockMs, int parts) {
        int n = blockMs.length;
        int k = Math.min(parts, n);
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) {
            prefix[i + 1] = prefix[i] + blockMs[i];
        }
        // worst[j][i]: the smallest slowest stage of blocks 0..i-1 in j ranges; cut[j][i]: where the last begins
        double[][] worst = new double[k + 1][n + 1];
        int[][] cut = new int[k + 1][n + 1];
        for (double[] row : worst) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        worst[0][0] = 0;
        for (int j = 1; j <= k; j++) {
            for (int i = j; i <= n; i++) {
                for (int c = j - 1; c < i; c++) {
                    double w = Math.max(worst[j - 1][c], prefix[i] - prefix[c]);
                    if (w < worst[j][i]) {
                        worst[j][i] = w;
                        cut[j][i] = c;
                    }
                }
            }
        }
        BlockRange[] out = new BlockRange[k];
        for (int j = k, end = n; j >= 1; j--) {
            int start = cut[j][end];
            out[j - 1] = new BlockRange(start, end - 1);
            end = start;
        }
        return List.of(out);
    }

    private static Map<String, Object> figures(double latencyMs, double throughput, String unit) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("latency_ms_p50", latencyMs);
        m.put("throughput", throughput);
        m.put("throughput_unit", unit);
        return m;
    }

    /** Batch-1 requests in this process alone: {latency p50 ms, requests/s back to back}. */
    private double[] encoderLocal(AnalyzedModel am, Map<String, Object> row) {
        row.put("kind", "encoder");
        row.put("sequence", sequence);
        row.put("requests", requests);
        Map<String, OnnxTensor> inputs = encoderInputs(am);
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            row.put("warmup_single_process", warm(() -> whole.run(StepContext.stateless(1), inputs).close(), 1));
            double[] local = new double[requests];
            for (int i = 0; i < requests; i++) {
                long t0 = System.nanoTime();
                whole.run(StepContext.stateless(1), inputs).close();
                local[i] = (System.nanoTime() - t0) / 1e6;
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < requests; i++) {
                whole.run(StepContext.stateless(1), inputs).close();
            }
            return new double[] {Median.of(local), requests / ((System.nanoTime() - t0) / 1e9)};
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private Map<String, OnnxTensor> encoderInputs(AnalyzedModel am) {
        return new InputSynthesizer(am.index(), 1).create(OrtRuntime.get().env(), new DimValues(1, sequence, 0, 64, 4, Map.of()),
                Set.of());
    }

    /** The same requests over the workers: one at a time for latency, then with one in flight per stage and one more. */
    private void encoderSplit(Gateway g, AnalyzedModel am, String model, List<Gateway.HopSpec> route, double[] local,
            Map<String, Object> row, PrintWriter err) throws Exception {
        Map<String, OnnxTensor> inputs = encoderInputs(am);
        try {
            int[] warmed = {0};
            row.put("warmup_split", warm(() -> get(g.submit(model, 1, route, "warm-" + warmed[0]++, null, 0, Gateway.Privacy.NONE,
                    inputs, 0)), 1));
            List<Telemetry> before = telemetry(g, route);
            double[] remote = new double[requests];
            for (int i = 0; i < requests; i++) {
                long t1 = System.nanoTime();
                g.submit(model, 1, route, "lat-" + i, null, 0, Gateway.Privacy.NONE, inputs, 0).get(60, TimeUnit.SECONDS);
                remote[i] = (System.nanoTime() - t1) / 1e6;
            }
            List<Double> stageMs = stageMs(before, telemetry(g, route));
            double lm = local[0];
            double localRps = local[1];
            double rm = Median.of(remote);
            double remoteRps = pipelined(g, model, route, inputs, "thr-");
            row.put("single_process", figures(lm, localRps, "requests/s"));
            row.put("split", figures(rm, remoteRps, "requests/s"));
            int hops = route.size() + 1; // gateway -> first, between stages, last -> gateway
            row.put("hops", hops);
            row.put("per_hop_overhead_ms", (rm - lm) / hops);
            // the stages' own time per request, as the workers' telemetry counts it (a mean): what the
            // split adds beyond the hops is the stages running slower than the whole model did
            row.put("stage_compute_ms", stageMs);
            row.put("outside_stages_ms", rm - stageMs.stream().mapToDouble(Double::doubleValue).sum());
            row.put("latency_ratio_split_to_single", rm / lm);
            row.put("throughput_ratio_split_to_single", remoteRps / localRps);
            progress(err, String.format(Locale.ROOT, "%s: single %.2f ms, split %.2f ms (%.3f ms per hop), %.1f vs %.1f req/s",
                    am.name(), lm, rm, (rm - lm) / hops, localRps, remoteRps));
            if (bandwidthMbps != null) {
                shaped(g, model, route, inputs, row, err);
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private double pipelined(Gateway g, String model, List<Gateway.HopSpec> route, Map<String, OnnxTensor> inputs, String prefix)
            throws Exception {
        int window = route.size() + 1;
        List<CompletableFuture<?>> inFlight = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < requests; i++) {
            if (inFlight.size() >= window) {
                inFlight.removeFirst().get(60, TimeUnit.SECONDS);
            }
            inFlight.add(g.submit(model, 1, route, prefix + i, null, 0, Gateway.Privacy.NONE, inputs, 0));
        }
        for (CompletableFuture<?> f : inFlight) {
            f.get(60, TimeUnit.SECONDS);
        }
        return requests / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * The same requests with every hop over an EMULATED link of the rate, alternating with requests
     * on the plain route (the links travel in the messages, so no worker is reconfigured between
     * them): the measured transfer is the difference of the two medians, set beside bytes / bandwidth.
     */
    private void shaped(Gateway g, String model, List<Gateway.HopSpec> route, Map<String, OnnxTensor> inputs,
            Map<String, Object> row, PrintWriter err) throws Exception {
        double bytesPerS = bandwidthMbps * 1e6 / 8;
        Gateway.LinkSpec link = new Gateway.LinkSpec(bytesPerS, 0);
        List<Gateway.HopSpec> shapedRoute = new ArrayList<>();
        for (Gateway.HopSpec h : route) {
            shapedRoute.add(new Gateway.HopSpec(h.node(), h.address(), h.zone(), h.firstBlock(), h.lastBlock(), link));
        }
        List<Telemetry> before = telemetry(g, route);
        double[] shaped = new double[requests];
        double[] plain = new double[requests];
        int n = 0;
        for (int i = -3; i < requests; i++) {
            long t0 = System.nanoTime();
            g.submit(model, 1, shapedRoute, link, "shaped-" + i, null, 0, Gateway.Privacy.NONE, inputs, 0).get(120, TimeUnit.SECONDS);
            long t1 = System.nanoTime();
            g.submit(model, 1, route, "plain-" + i, null, 0, Gateway.Privacy.NONE, inputs, 0).get(120, TimeUnit.SECONDS);
            long t2 = System.nanoTime();
            n += 2;
            if (i >= 0) {
                shaped[i] = (t1 - t0) / 1e6;
                plain[i] = (t2 - t1) / 1e6;
            }
        }
        // bytes per request on each hop, as the workers counted them (shaped and plain requests are the same)
        double bytes = (g.telemetry(route.getFirst().address()).getBytesReceived() - before.getFirst().getBytesReceived())
                / (double) n;
        for (int i = 0; i < route.size(); i++) {
            bytes += (sent(g.telemetry(route.get(i).address())) - sent(before.get(i))) / (double) n;
        }
        double predicted = bytes / bytesPerS * 1000;
        double measured = Median.of(shaped) - Median.of(plain);
        row.put("bandwidth_mbps", bandwidthMbps);
        row.put("emulated_links", true);
        row.put("bytes_per_request_all_hops", bytes);
        row.put("shaped_latency_ms_p50", Median.of(shaped));
        row.put("unshaped_latency_ms_p50_alternating", Median.of(plain));
        row.put("predicted_transfer_ms", predicted);
        row.put("measured_transfer_ms", measured);
        row.put("transfer_error", (measured - predicted) / predicted);
        progress(err, String.format(Locale.ROOT, "%s over EMULATED %.0f Mbit/s links: transfer %.2f ms measured, %.2f ms predicted",
                row.get("model"), bandwidthMbps, measured, predicted));
    }

    private static long sent(Telemetry t) {
        return t.getSentList().stream().mapToLong(io.edgesplit.wire.v1.PeerBytes::getBytesSent).sum();
    }

    /** In this process alone: {ms between tokens of one sequence, its tokens/s, aggregate tokens/s of several taking turns}. */
    private double[] decoderLocal(AnalyzedModel am, Map<String, Object> row) {
        row.put("kind", "decoder");
        row.put("tokens_per_sequence", tokens);
        row.put("sequences_in_flight", sequences);
        if (am.name().contains("shape") || am.name().contains("synthetic")) {
            row.put("weights", "random weights");
        }
        try (LocalPipeline whole = LocalPipeline.whole(am)) {
            Generator local = Generator.forModel(am, whole);
            int[] warmed = {0};
            row.put("warmup_single_process", warm(() -> one(local, "warm-local-" + warmed[0]++), tokens)); // JIT and ORT
            double[] single = one(local, "single");
            List<Generator.Request> batch = new ArrayList<>();
            for (int s = 0; s < sequences; s++) {
                batch.add(request("agg-local-" + s, s, t -> { }));
            }
            long t0 = System.nanoTime();
            local.generateInterleaved(batch); // one process, batch 1: the sequences take turns, one step each
            return new double[] {single[0], single[1], (double) sequences * tokens / ((System.nanoTime() - t0) / 1e9)};
        }
    }

    /** Over the workers: one sequence, then {@code sequences} in flight, each with a step out at any time. */
    private void decoderSplit(Gateway g, AnalyzedModel am, String model, List<Gateway.HopSpec> route, double[] local,
            Map<String, Object> row, PrintWriter err) {
        String logits = EquivalenceVerifier.logitsOutput(am);
        Generator remote = Generator.forModel(am, new RemoteStepRunner(g, model, 1, route, logits));
        int[] warmed = {0};
        row.put("warmup_split", warm(() -> one(remote, "warm-remote-" + warmed[0]++), tokens)); // the gateway's and workers' JIT
        List<Telemetry> before = telemetry(g, route);
        double[] splitOne = one(remote, "split");
        List<Double> stageMs = stageMs(before, telemetry(g, route));
        long t0 = System.nanoTime();
        List<CompletableFuture<Generator.Result>> inFlight = new ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int s = 0; s < sequences; s++) {
                Generator.Request r = request("agg-split-" + s, s, t -> { });
                inFlight.add(CompletableFuture.supplyAsync(() -> remote.generate(r), threads));
            }
            inFlight.forEach(CompletableFuture::join);
        }
        double splitAggregate = (double) sequences * tokens / ((System.nanoTime() - t0) / 1e9);
        Map<String, Object> single = figures(local[0], local[1], "tokens/s");
        single.put("decode_tokens_per_s", local[1]);
        single.put("aggregate_tokens_per_s", local[2]);
        Map<String, Object> split = figures(splitOne[0], splitOne[1], "tokens/s");
        split.put("decode_tokens_per_s", splitOne[1]);
        split.put("aggregate_tokens_per_s", splitAggregate);
        row.put("single_process", single);
        row.put("split", split);
        row.put("decode_ratio_split_to_single", splitOne[1] / local[1]);
        row.put("aggregate_ratio_split_to_single_one_sequence", splitAggregate / local[1]);
        int hops = route.size() + 1;
        row.put("hops", hops);
        row.put("per_hop_overhead_ms", (splitOne[0] - local[0]) / hops);
        // what the workers' stages took per step of the one sequence, as their telemetry counts it: the
        // rest of the time between tokens is the transport and the gateway
        row.put("stage_compute_ms", stageMs);
        row.put("outside_stages_ms_per_token", splitOne[0] - stageMs.stream().mapToDouble(Double::doubleValue).sum());
        // what no transport could beat on this machine: the slowest stage as it ran, and the cores
        // (each worker's threads decode at most as fast as the single process with as many threads)
        int cores = Runtime.getRuntime().availableProcessors();
        double slowestStage = stageMs.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        double bound = Math.min(1000 / slowestStage, Math.min(route.size(), (double) cores / workerThreads) * local[1]);
        row.put("aggregate_compute_bound_tokens_per_s", bound);
        row.put("aggregate_ratio_to_compute_bound", splitAggregate / bound);
        if (am.name().contains("llama-110m")) {
            row.put("peer_distributed_llama_8_sequences_tokens_per_s", DLLAMA_110M_8SEQ);
            row.put("aggregate_ratio_to_peer", splitAggregate / DLLAMA_110M_8SEQ);
        } else if (am.name().contains("stories260")) {
            row.put("peer_distributed_llama_one_sequence_tokens_per_s", DLLAMA_STORIES_1SEQ);
            row.put("decode_ratio_to_peer", splitOne[1] / DLLAMA_STORIES_1SEQ);
        }
        progress(err, String.format(Locale.ROOT, "%s: one sequence %.1f tokens/s single, %.1f split; %d in flight %.1f vs %.1f",
                am.name(), local[1], splitOne[1], sequences, local[2], splitAggregate));
    }

    private static List<Telemetry> telemetry(Gateway g, List<Gateway.HopSpec> route) {
        return route.stream().map(h -> g.telemetry(h.address())).toList();
    }

    /** Each hop's mean step time between two readings of the route's telemetry. */
    private static List<Double> stageMs(List<Telemetry> before, List<Telemetry> after) {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < before.size(); i++) {
            ms.add(stepMs(before.get(i), after.get(i)));
        }
        return ms;
    }

    /** Mean execution time of a worker's steps between two telemetry readings (its loaded ranges together). */
    private static double stepMs(Telemetry before, Telemetry after) {
        long runs = 0;
        double ms = 0;
        for (io.edgesplit.wire.v1.LoadedRange r : after.getLoadedList()) {
            runs += r.getRuns();
            ms += r.getMsTotal();
        }
        for (io.edgesplit.wire.v1.LoadedRange r : before.getLoadedList()) {
            runs -= r.getRuns();
            ms -= r.getMsTotal();
        }
        return runs == 0 ? 0 : ms / runs;
    }

    /**
     * Runs {@code once} (of {@code steps} steps) for at least --warmup-s and at least --warmup-steps
     * steps, but stops starting more after --warmup-max-s: {steps, seconds} as done, for the report.
     */
    private Map<String, Object> warm(Runnable once, int steps) {
        long start = System.nanoTime();
        long end = start + (long) (warmupS * 1e9);
        long cap = start + (long) (warmupMaxS * 1e9);
        long done = 0;
        long now;
        do {
            once.run();
            done += steps;
            now = System.nanoTime();
        } while (now < end || (done < warmupSteps && now < cap));
        Map<String, Object> warmed = new LinkedHashMap<>();
        warmed.put("steps", done);
        warmed.put("seconds", (now - start) / 1e9);
        return warmed;
    }

    private static void get(CompletableFuture<?> f) {
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new EdgeSplitException(io.edgesplit.core.error.ErrorCode.RUNTIME_FAILED, "a warm-up request failed: " + e, e);
        }
    }

    private Generator.Request request(String id, int s, Generator.TokenSink sink) {
        return new Generator.Request(id, new int[] {1, 2 + 3 * s}, Sampling.greedy(), tokens, Set.of(), sink);
    }

    /** {median ms between tokens, decode tokens/s} of one sequence. */
    private double[] one(Generator gen, String id) {
        List<Long> at = new ArrayList<>();
        gen.generate(request(id, 0, t -> at.add(System.nanoTime())));
        double[] gaps = new double[at.size() - 1];
        for (int i = 1; i < at.size(); i++) {
            gaps[i - 1] = (at.get(i) - at.get(i - 1)) / 1e6;
        }
        double decodeS = (at.getLast() - at.getFirst()) / 1e9;
        return new double[] {Median.of(gaps), gaps.length / decodeS};
    }
}
